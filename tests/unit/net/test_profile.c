/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Profiles and site files (lib/net/profile.c, site.c, port_eal.c, port_ini.c): every shipped
 * drivers-config file loads, bad files name the offending key, EAL device arguments.
 *
 * The drivers-config folder: $NC_DRIVERS_DIR, else the build's NC_DRIVERS_DIR, else found
 * from this file's path.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "net/port.h"
#include "net/port_private.h"

static char drivers_dir[512];
static char tmp_dir[64];

static void
find_drivers_dir(void)
{
	const char *env = getenv("NC_DRIVERS_DIR");
	const char *slash;

	if (env != NULL && env[0] != '\0') {
		snprintf(drivers_dir, sizeof(drivers_dir), "%s", env);
		return;
	}
#ifdef NC_DRIVERS_DIR
	if (access(NC_DRIVERS_DIR, R_OK) == 0) {
		snprintf(drivers_dir, sizeof(drivers_dir), "%s", NC_DRIVERS_DIR);
		return;
	}
#endif
	/* tests/unit/net/test_profile.c -> ../../../drivers-config */
	slash = strrchr(__FILE__, '/');
	snprintf(drivers_dir, sizeof(drivers_dir), "%.*s/../../../drivers-config",
		 slash != NULL ? (int)(slash - __FILE__) : 1, slash != NULL ? __FILE__ : ".");
}

/* Write @p text to tmp_dir/@p name; return the path in @p path. */
static const char *
write_file(const char *name, const char *text, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", tmp_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
load_bad_profile(const char *text, const char *want1, const char *want2)
{
	struct net_profile p;
	char path[256], msg[512];
	int rc;

	rc = net_profile_load(write_file("bad.ini", text, path, sizeof(path)), &p, msg,
			      sizeof(msg));
	if (rc != -EINVAL)
		fail_msg("profile '%s': got %d, want -EINVAL", text, rc);
	if (strstr(msg, want1) == NULL || strstr(msg, want2) == NULL || strstr(msg, path) == NULL)
		fail_msg("message '%s' should name '%s', '%s' and the file", msg, want1, want2);
}

static void
load_bad_site(const char *text, const char *want1, const char *want2)
{
	struct net_site s;
	char path[256], msg[512];
	int rc;

	rc = net_site_load(write_file("bad-site.ini", text, path, sizeof(path)), &s, msg,
			   sizeof(msg));
	if (rc != -EINVAL)
		fail_msg("site '%s': got %d, want -EINVAL", text, rc);
	if (strstr(msg, want1) == NULL || strstr(msg, want2) == NULL)
		fail_msg("message '%s' should name '%s' and '%s'", msg, want1, want2);
}

static bool
is_vdev_family(const char *name)
{
	static const char *const v[] = {"af_xdp", "af_packet", "tap", "memif"};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(name, v[i]) == 0)
			return true;
	return false;
}

static void
test_every_profile_loads(void **state)
{
	static const char *const families[] = {"mlx5", "i40e",	 "ice",	      "ixgbe", "virtio",
					       "ena",  "af_xdp", "af_packet", "tap",   "memif"};
	struct net_site site = {.iface = "veth0", .pci = "0000:03:00.0"};
	struct dirent *de;
	unsigned loaded = 0, variants = 0, found[sizeof(families) / sizeof(families[0])] = {0};
	size_t dl;
	DIR *d;

	(void)state;
	d = opendir(drivers_dir);
	if (d == NULL)
		fail_msg("cannot open %s (set NC_DRIVERS_DIR)", drivers_dir);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct net_profile p;
		char path[1024], msg[512], buf[512], *argv[4];
		int rc;

		if (n < 5 || strcmp(de->d_name + n - 4, ".ini") != 0 ||
		    strncmp(de->d_name, "site", 4) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", drivers_dir, de->d_name);
		rc = net_profile_load(path, &p, msg, sizeof(msg));
		if (rc != 0)
			fail_msg("%s: %d %s", path, rc, msg);
		/* <driver>.ini, or <driver>-<variant>.ini for another use of one driver */
		dl = strlen(p.name);
		assert_true(n - 4 >= dl && strncmp(de->d_name, p.name, dl) == 0 &&
			    (de->d_name[dl] == '.' || de->d_name[dl] == '-'));
		if (strcmp(de->d_name, "memif-zc.ini") == 0) {
			assert_string_equal(p.name, "memif");
			assert_non_null(strstr(p.devargs, "role=client"));
			assert_non_null(strstr(p.devargs, "zero-copy=yes"));
			variants++;
		}
		/* mcgen --site's end of memif.ini */
		if (strcmp(de->d_name, "memif-client.ini") == 0) {
			assert_string_equal(p.name, "memif");
			assert_non_null(strstr(p.devargs, "role=client"));
			assert_null(strstr(p.devargs, "zero-copy"));
			variants++;
		}
		assert_int_equal(p.vdev, is_vdev_family(p.name));
		assert_true(p.rx_desc >= 64 && p.tx_desc >= 64);
		assert_true(p.rss_hf != 0);
		rc = net_port_eal_args(&p, &site, 2, buf, sizeof(buf), argv, 4, msg, sizeof(msg));
		if (rc != 2)
			fail_msg("%s: eal args %d %s", path, rc, msg);
		assert_string_equal(argv[0], p.vdev ? "--vdev" : "-a");
		assert_null(strchr(argv[1], '{'));
		for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
			if (strcmp(p.name, families[i]) == 0 && de->d_name[dl] == '.')
				found[i]++;
		loaded++;
	}
	closedir(d);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (found[i] != 1)
			fail_msg("profile %s.ini missing from %s", families[i], drivers_dir);
	if (variants != 2)
		fail_msg("profile memif-zc.ini or memif-client.ini missing from %s", drivers_dir);
	assert_true(loaded >= 12);
}

static void
test_site_example_loads(void **state)
{
	struct net_site s;
	char path[1024], msg[512], pbuf[1200];
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/site.example.ini", drivers_dir);
	rc = net_site_load(path, &s, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("%s: %d %s", path, rc, msg);
	assert_string_equal(s.profile, "af_packet");
	assert_string_equal(s.iface, "veth-nc0");
	assert_int_equal(s.ip, inet_addr("10.99.0.1"));
	assert_int_equal(s.prefix, 24);
	assert_int_equal(s.gateway, inet_addr("10.99.0.254"));
	assert_int_equal(s.vlan_id, 0);
	assert_int_equal(s.mtu, 0);
	assert_non_null(net_site_profile_path(&s, "/x/drivers", pbuf, sizeof(pbuf)));
	assert_string_equal(pbuf, "/x/drivers/af_packet.ini");
	snprintf(s.profile, sizeof(s.profile), "./my/nic.ini");
	assert_non_null(net_site_profile_path(&s, "/x/drivers", pbuf, sizeof(pbuf)));
	assert_string_equal(pbuf, "./my/nic.ini");
	assert_null(net_site_profile_path(&s, "/x/drivers", pbuf, 4));
}

static void
test_profile_values_and_defaults(void **state)
{
	struct net_profile p;
	char path[256], msg[512];

	(void)state;
	assert_int_equal(net_profile_load(write_file("mini.ini", "[rings]\nrx_desc = 256\n", path,
						     sizeof(path)),
					  &p, msg, sizeof(msg)),
			 0);
	assert_string_equal(p.name, "mini");
	assert_false(p.vdev);
	assert_string_equal(p.devargs, "{pci}");
	assert_int_equal(p.rx_desc, 256);
	assert_int_equal(p.tx_desc, 1024);
	assert_int_equal(p.queues, NET_QUEUES_PER_WORKER);
	assert_int_equal(p.rss_key_len, 0);
	assert_true(p.offloads.tx_udp_cksum);
	assert_false(p.offloads.tx_tcp_tso); /* TSO only where a profile asks */
	assert_int_equal(p.mtu, 1500);

	assert_int_equal(net_profile_load(write_file("full.ini",
						     "[driver]\nname = x1\n"
						     "[device]\nkind = vdev\nargs = net_null0\n"
						     "[queues]\npolicy = one\nmax = 1\n"
						     "[rss]\ntypes = udp, ipv4\n"
						     "key = 6d:5a:56:da:25:5b:0e:c2\n"
						     "[offloads]\ntx_tcp_cksum = no\n"
						     "tx_tcp_tso = yes\n"
						     "[port]\nmtu = 9000\npromiscuous = yes\n"
						     "[mempool]\ndata_room = 10240\ncache = 0\n"
						     "extra = 7\n",
						     path, sizeof(path)),
					  &p, msg, sizeof(msg)),
			 0);
	assert_string_equal(p.name, "x1");
	assert_true(p.vdev);
	assert_int_equal(p.queues, NET_QUEUES_ONE);
	assert_int_equal(p.rss_hf, RTE_ETH_RSS_UDP | RTE_ETH_RSS_IPV4);
	assert_int_equal(p.rss_key_len, 8);
	assert_int_equal(p.rss_key[0], 0x6d);
	assert_int_equal(p.rss_key[7], 0xc2);
	assert_false(p.offloads.tx_tcp_cksum);
	assert_true(p.offloads.tx_tcp_tso);
	assert_true(p.offloads.rx_ip_cksum);
	assert_int_equal(p.mtu, 9000);
	assert_true(p.promiscuous);
	assert_int_equal(p.mbuf_data_room, 10240);
	assert_int_equal(p.mbuf_cache, 0);
	assert_int_equal(p.mbuf_extra, 7);
}

static void
test_bad_profiles(void **state)
{
	struct net_profile p;
	char msg[256];

	(void)state;
	load_bad_profile("[rings]\nrx_desc = 512\nbogus = 1\n", "[rings]", "bogus");
	load_bad_profile("[ringz]\nrx_desc = 512\n", "[ringz]", "unknown section");
	load_bad_profile("[rss]\nkey = 6d5a5\n", "[rss]", "'key'");
	load_bad_profile("[rss]\nkey = 6d5x\n", "'key'", "hex");
	load_bad_profile("[rss]\nkey = "
			 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
			 "202122232425262728292a2b2c2d2e2f3031323334\n",
			 "'key'", "52 bytes");
	load_bad_profile("[rss]\ntypes = ipv4 ipv4-foo\n", "'types'", "ipv4-foo");
	load_bad_profile("[rings]\nrx_desc = 12\n", "'rx_desc'", "range");
	load_bad_profile("[rings]\ntx_desc = 1k\n", "'tx_desc'", "number");
	load_bad_profile("[device]\nkind = usb\n", "'kind'", "vdev");
	load_bad_profile("[queues]\npolicy = all\n", "'policy'", "per_worker");
	load_bad_profile("[offloads]\ntx_udp_cksum = maybe\n", "'tx_udp_cksum'", "yes or no");
	load_bad_profile("[port]\nmtu = 1500\nmtu = 9000\n", "'mtu'", "twice");
	load_bad_profile("[mempool]\ncache = 4096\n", "'cache'", "range");
	load_bad_profile("key_outside = 1\n", "not a valid INI", "bad.ini");
	assert_int_equal(net_profile_load("/nonexistent/nicached.ini", &p, msg, sizeof(msg)),
			 -ENOENT);
}

static void
test_bad_sites(void **state)
{
	(void)state;
	load_bad_site("[port]\nprofile = x\n[ipv4]\naddress = 10.0.0.1\n", "'address'", "prefix");
	load_bad_site("[port]\nprofile = x\n[ipv4]\naddress = 10.0.0.1/33\n", "'address'",
		      "prefix");
	load_bad_site("[port]\nprofile = x\n[ipv4]\naddress = 10.0.0/24\n", "'address'",
		      "bad address");
	load_bad_site("[port]\nprofile = x\n[ipv4]\naddress = 224.0.0.1/24\n", "'address'",
		      "unicast");
	load_bad_site("[port]\nprofile = x\n[ipv4]\naddress = 10.0.0.1/24\ngateway = 10.0.1.1\n",
		      "'gateway'", "prefix");
	load_bad_site("[port]\nprofile = x\nvlan = 4095\n[ipv4]\naddress = 10.0.0.1/24\n", "'vlan'",
		      "range");
	load_bad_site("[port]\nprofile = x\ncolour = red\n[ipv4]\naddress = 10.0.0.1/24\n",
		      "[port]", "'colour'");
	load_bad_site("[ipv4]\naddress = 10.0.0.1/24\n", "'profile'", "missing");
	load_bad_site("[port]\nprofile = x\n", "'address'", "missing");
}

static void
test_eal_args(void **state)
{
	struct net_profile p;
	struct net_site s = {.iface = "veth-a", .pci = "0000:81:00.1"};
	char buf[256], msg[256], *argv[4];

	(void)state;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "t");
	p.vdev = true;
	snprintf(p.devargs, sizeof(p.devargs), "net_af_packet0,iface={iface},qpairs={queues}");
	assert_int_equal(net_port_eal_args(&p, &s, 3, buf, sizeof(buf), argv, 4, msg, sizeof(msg)),
			 2);
	assert_string_equal(argv[0], "--vdev");
	assert_string_equal(argv[1], "net_af_packet0,iface=veth-a,qpairs=3");

	p.vdev = false;
	snprintf(p.devargs, sizeof(p.devargs), "{pci},mprq_en=1");
	assert_int_equal(net_port_eal_args(&p, &s, 1, buf, sizeof(buf), argv, 4, msg, sizeof(msg)),
			 2);
	assert_string_equal(argv[0], "-a");
	assert_string_equal(argv[1], "0000:81:00.1,mprq_en=1");

	/* placeholders whose value the site lacks, unknown ones, unclosed ones */
	s.pci[0] = '\0';
	assert_int_equal(net_port_eal_args(&p, &s, 1, buf, sizeof(buf), argv, 4, msg, sizeof(msg)),
			 -EINVAL);
	assert_non_null(strstr(msg, "[port] pci"));
	snprintf(p.devargs, sizeof(p.devargs), "net_x0,a={ifname}");
	assert_int_equal(net_port_eal_args(&p, &s, 1, buf, sizeof(buf), argv, 4, msg, sizeof(msg)),
			 -EINVAL);
	assert_non_null(strstr(msg, "{ifname}"));
	snprintf(p.devargs, sizeof(p.devargs), "net_x0,a={iface");
	assert_int_equal(net_port_eal_args(&p, &s, 1, buf, sizeof(buf), argv, 4, msg, sizeof(msg)),
			 -EINVAL);

	/* no room */
	snprintf(p.devargs, sizeof(p.devargs), "net_x0,iface={iface}");
	assert_int_equal(net_port_eal_args(&p, &s, 1, buf, 12, argv, 4, msg, sizeof(msg)), -ENOSPC);
	assert_int_equal(net_port_eal_args(&p, &s, 1, buf, sizeof(buf), argv, 1, msg, sizeof(msg)),
			 -ENOSPC);
}

static void
test_rss_names(void **state)
{
	char buf[128];
	uint64_t bits;

	(void)state;
	assert_true(net_rss_lookup("ipv4-udp", &bits));
	assert_int_equal(bits, RTE_ETH_RSS_NONFRAG_IPV4_UDP);
	assert_false(net_rss_lookup("ipv5", &bits));
	net_rss_names(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP, buf, sizeof(buf));
	assert_string_equal(buf, "ipv4 ipv4-tcp");
	net_rss_names(RTE_BIT64(22), buf, sizeof(buf));
	assert_string_equal(buf, "0x400000");
	assert_int_equal(net_rss_names(RTE_ETH_RSS_IP, buf, 6), 5);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/nc_test_profile.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	find_drivers_dir();
	return 0;
}

static int
teardown(void **state)
{
	static const char *const files[] = {"bad.ini", "bad-site.ini", "mini.ini", "full.ini"};
	char path[128];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, files[i]);
		unlink(path);
	}
	rmdir(tmp_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_profile_loads),
		cmocka_unit_test(test_site_example_loads),
		cmocka_unit_test(test_profile_values_and_defaults),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_bad_sites),
		cmocka_unit_test(test_eal_args),
		cmocka_unit_test(test_rss_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
