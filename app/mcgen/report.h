/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_REPORT_H
#define NC_MCGEN_REPORT_H

/*
 * What mcgen says when steps are done: the final summary, the --sweep table, the JSON result
 * (--json), and the latency-vs-throughput plot (--plot, drawn by mcgen-plot.py with
 * matplotlib).
 *
 * Threads: call from the main thread.
 */

#include <stdbool.h>
#include <stdio.h>

#include "options.h"
#include "run.h"

/** Print the summary of step @p s to @p out. */
void mcgen_report_summary(FILE *out, const struct mcgen_options *o, const struct mcgen_step *s);

/**
 * Print the sweep table (offered, achieved, p50, p99, p999, errors, timeouts) to @p out; a step
 * that failed (an error, an interrupt) is marked, with a line saying why under the table.
 */
void mcgen_report_table(FILE *out, const struct mcgen_step *steps, unsigned n);

/**
 * Write the JSON result of the warm-up @p warm (NULL: none) and @p n steps (the options, each
 * step's totals, latency and seconds; the warm-up's counters and seconds; why the run failed,
 * if it did: the warm-up's or the first failed step's error, else @p why, NULL when it did
 * not fail) to @p path: a regular file (or none yet) is replaced whole (written beside it,
 * renamed over it; see mcgen_report_json_replaceable()), anything else written in place.
 * @return 0; a negative errno with a message in @p err.
 */
int mcgen_report_json(const char *path, const struct mcgen_options *o,
		      const struct mcgen_step *warm, const struct mcgen_step *steps, unsigned n,
		      const char *why, char *err, size_t errlen);

/**
 * Whether the JSON at @p path is replaced whole (a regular file, not a symlink, or nothing
 * yet), so a placeholder written there first cannot mix with the result (a pipe or a device
 * would get both: mcgen writes none there).
 */
bool mcgen_report_json_replaceable(const char *path);

/**
 * Draw the latency-vs-throughput plot of the JSON result at @p json into @p png with the plot
 * script (the installed one, else the source tree's while not installed; MCGEN_PLOT_SCRIPT in
 * the environment overrides both) run by /usr/bin/python3.
 * @return 0; a negative errno with a message in @p err (the script says why on stderr).
 */
int mcgen_report_plot(const char *json, const char *png, char *err, size_t errlen);

/**
 * Before the load: whether the plot script can run here (python3 and matplotlib present), by
 * running it with --check (a script given in MCGEN_PLOT_SCRIPT must answer that too).
 * @return 0; a negative errno with a message in @p err.
 */
int mcgen_report_plot_check(char *err, size_t errlen);

/**
 * Before the load: whether a result file can be written at @p path (given as option @p opt):
 * the file writable (not a folder) if it exists, else its folder.
 * @return 0; a negative errno with a message in @p err.
 */
int mcgen_report_path_check(const char *opt, const char *path, char *err, size_t errlen);

#endif /* NC_MCGEN_REPORT_H */
