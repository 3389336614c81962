# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Build: make; tests: make check; a first look: make demo (both need root).
OUT       ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
# One version string (docs/packaging.md): the VERSION file; in a git tree not at the tag
# v$(VERSION) (or with uncommitted changes) plus the commit: 0.1.0+g1a2b3c4d5e(.dirty). The binary,
# the .deb (debian/rules) and the image tag (make image) all take it from here: `make -s version`.
VERSION   := $(shell v=$$(cat VERSION); \
               if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$$PWD" ]; then \
                 if ! git diff --quiet HEAD -- 2>/dev/null || \
                    ! git describe --tags --exact-match --match "v$$v" >/dev/null 2>&1; then \
                   v=$$v+g$$(git rev-parse --short=10 HEAD); \
                   git diff --quiet HEAD -- 2>/dev/null || v=$$v.dirty; \
                 fi; \
               fi; echo $$v)
UNITDIR   ?= $(PREFIX)/lib/systemd/system
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS    ?= -O2 -g
CFLAGS    += $(SAN_CFLAGS) -Itests/unit -Wall -Wextra -Wno-unused-parameter -std=gnu11 -Wno-format-truncation \
             -DMW_VERSION='"$(VERSION)"' -I$(OUT) -Iheaders -Iuser
LDLIBS    += -lbpf -lelf -lz -ljansson -lyaml -lcrypt -lpthread
# libnftables and the exporter's HTTP(S) stack (libmicrohttpd, GnuTLS) are opened on first use,
# not linked (user/dynlib.h says why, and why libyaml and libcrypt are): by the sonames of the
# -dev packages here.
soname     = $(shell readelf -d $$($(CC) -print-file-name=lib$(1).so) 2>/dev/null | \
               sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
DL_CFLAGS := $(foreach l,MHD:microhttpd GNUTLS:gnutls NFT:nftables,\
               $(if $(call soname,$(lastword $(subst :, ,$(l)))),\
               -DSONAME_$(firstword $(subst :, ,$(l)))='"$(call soname,$(lastword $(subst :, ,$(l))))"'))
WEB_LIBS  := -ldl
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Iheaders -Ibpf \
              -Wall -Wno-unused-function $(BPF_EXTRA)

# Every user/*.c but main.c is part of the tool; a new room is a new file, no list to edit.
USER_SRCS := $(filter-out user/main.c,$(sort $(wildcard user/*.c)))
USER_OBJS := $(patsubst user/%.c,$(OUT)/%.o,$(USER_SRCS))
# The pure pieces the unit tests and the event fuzzer link without a kernel: the diagnosis core
# (user/core*.c), the vocabularies and the renderers.
PURE_SRCS := $(sort $(wildcard user/core*.c)) user/reasons.c user/render.c $(wildcard user/json.c) \
             user/html.c user/html_page.c
PURE_OBJS := $(patsubst user/%.c,$(OUT)/%.o,$(PURE_SRCS))

DEBIAN_DEPS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc \
               iproute2 iptables nftables ethtool openssl openssh-server openssh-client \
               iperf3 tcpdump bpftrace prometheus prometheus-node-exporter libclang-rt-14-dev \
               curl netcat-openbsd procps util-linux python3 jq iputils-ping \
               libnftables-dev libjansson-dev \
               libmicrohttpd-dev libgnutls28-dev libyaml-dev libcrypt-dev \
               qemu-system-x86 busybox-static kmod xz-utils zstd \
               debhelper lintian debootstrap podman runc chromium

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps check check-run check-unit check-sanitize check-kernels check-kernels-run demo \
	demo-run install uninstall clean fuzz bench check-pmtu check-pmtu-run \
	prometheusrule version deb image readme-img FORCE

all: $(OUT)/mtuwatch

$(OUT):
	$(Q)mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

# The watcher: a file per hook, every bpf/*.bpf.c but the probe's and the bench's, each
# compiled alone and linked into one object by libbpf's static linker, which resolves the
# extern maps, globals and global functions (bpf/common.h). maps.bpf.c first: the skeleton
# lists the maps and globals in its order.
MW_BPF_SRCS := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c bpf/probe.bpf.c bpf/null.bpf.c,\
               $(sort $(wildcard bpf/*.bpf.c)))
MW_BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(MW_BPF_SRCS))

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) headers/mtuwatch.h $(OUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/mtuwatch.bpf.o: $(MW_BPF_OBJS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUT)/mtuwatch.skel.h: $(OUT)/mtuwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mtuwatch_bpf > $@

# mtuwatch probe: its own small object, so that it loads without the watcher's programs.
$(OUT)/probe.bpf.o: bpf/probe.bpf.c bpf/parse.h bpf/kernel.h user/probe.h $(OUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Iuser -c $< -o $(OUT)/probe.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(OUT)/probe.tmp.bpf.o

$(OUT)/probe.skel.h: $(OUT)/probe.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name probe_bpf > $@

$(OUT)/%.o: user/%.c $(wildcard user/*.h) headers/mtuwatch.h | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(filter-out $(PURE_OBJS),$(USER_OBJS)): $(OUT)/mtuwatch.skel.h
$(OUT)/dynlib.o: CFLAGS += $(DL_CFLAGS)
$(filter $(OUT)/probe%.o,$(USER_OBJS)): $(OUT)/probe.skel.h

$(OUT)/mtuwatch: $(OUT)/main.o $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) $(WEB_LIBS) -o $@

# The objects that print the version are rebuilt when it changes (a commit changes it): the stamp
# is rewritten only then.
$(OUT)/version.stamp: FORCE | $(OUT)
	$(Q)echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(patsubst user/%.c,$(OUT)/%.o,$(shell grep -l MW_VERSION user/*.c)): $(OUT)/version.stamp

version:
	@echo '$(VERSION)'

# ---- tests -------------------------------------------------------------------------------
# The test binary: the shipped one plus the loader's test hook (MW_TEST_REFUSE, user/loader.c),
# which the shipped binary does not honour. Only the two files that read the hook differ.
HOOK_SRCS := user/loader.c user/probe_ebpf.c
HOOK_OBJS := $(patsubst user/%.c,$(OUT)/test-hooks/%.o,$(HOOK_SRCS))

$(OUT)/test-hooks/%.o: user/%.c $(wildcard user/*.h) headers/mtuwatch.h $(OUT)/mtuwatch.skel.h \
		$(OUT)/probe.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -DMW_TEST_HOOKS -c $< -o $@

$(OUT)/test-hooks/mtuwatch: $(OUT)/main.o $(filter-out $(patsubst user/%.c,$(OUT)/%.o,$(HOOK_SRCS)),\
		$(USER_OBJS)) $(HOOK_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) $(WEB_LIBS) -o $@

# The recording container: its reader and writer, one API (user/recfile.h).
RECFILE_SRCS := user/recfile_read.c user/recfile_write.c
RECFILE_OBJS := $(patsubst user/%.c,$(OUT)/%.o,$(RECFILE_SRCS))

UNIT_TESTS := $(OUT)/test_core $(OUT)/test_recfile $(OUT)/test_httpd $(OUT)/test_metrics \
              $(OUT)/test_hostcfg $(OUT)/test_hostile $(OUT)/test_webconfig $(OUT)/test_nsnames

$(OUT)/test_core: tests/unit/test_core.c $(PURE_OBJS) $(OUT)/mtuwatch.bpf.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(PURE_OBJS) $(LDLIBS) -o $@

$(OUT)/test_recfile: tests/unit/test_recfile.c $(RECFILE_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lz -o $@

$(OUT)/test_httpd: tests/unit/test_httpd.c $(OUT)/httpd.o $(OUT)/httpd_listen.o $(OUT)/webconfig.o \
		   $(OUT)/dynlib.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(WEB_LIBS) -lyaml -lcrypt -o $@

$(OUT)/test_webconfig: tests/unit/test_webconfig.c $(OUT)/webconfig.o $(OUT)/dynlib.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(WEB_LIBS) -lyaml -lcrypt -o $@	# the test makes its own hashes too

$(OUT)/test_metrics: tests/unit/test_metrics.c $(OUT)/metrics.o $(PURE_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/test_hostcfg: tests/unit/test_hostcfg.c $(OUT)/hostcfg.o $(OUT)/firewall.o $(OUT)/netutil.o \
                    $(OUT)/dynlib.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljansson -ldl -o $@
$(OUT)/test_nsnames: tests/unit/test_nsnames.c $(OUT)/nsnames.o $(OUT)/netutil.o $(PURE_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/test_hostile: tests/unit/test_hostile.c $(RECFILE_OBJS) $(PURE_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/test_bpf: tests/unit/test_bpf.c user/loader_maps.c $(OUT)/mtuwatch.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c,$^) $(LDLIBS) -o $@

$(OUT)/fuzz_recfile: tests/fuzz/fuzz_recfile.c $(RECFILE_SRCS) user/recfile.h \
                    user/recfile_format.h | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Iuser \
		tests/fuzz/fuzz_recfile.c $(RECFILE_SRCS) -lz -o $@

$(OUT)/replay_recfile: tests/fuzz/fuzz_recfile.c tests/fuzz/replay_main.c $(RECFILE_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DFUZZ_REPLAY_MAIN $^ -lz -o $@

# Events past the container: the core and every renderer (tests/fuzz/fuzz_events.c).
EVENT_SRCS := $(PURE_SRCS) user/metrics.c

$(OUT)/fuzz_events: tests/fuzz/fuzz_events.c $(EVENT_SRCS) $(wildcard user/*.h) | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Iuser -Iheaders \
		tests/fuzz/fuzz_events.c $(EVENT_SRCS) -lbpf -lelf -lz -o $@

$(OUT)/replay_events: tests/fuzz/fuzz_events.c tests/fuzz/replay_main.c $(PURE_OBJS) \
		      $(OUT)/metrics.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DFUZZ_REPLAY_MAIN $^ $(LDLIBS) -o $@

TEST_BINS := $(UNIT_TESTS) $(OUT)/test_bpf $(OUT)/replay_recfile $(OUT)/replay_events $(OUT)/mtuwatch \
             $(OUT)/test-hooks/mtuwatch

# check and demo install what they need first (a no-op when it is there), as the README says.
check: deps
	$(Q)$(MAKE) --no-print-directory check-run

check-run: $(TEST_BINS) $(OUT)/fuzz_recfile $(OUT)/fuzz_events
	$(Q)OUT=$(OUT) bash tests/run.sh

check-unit: $(UNIT_TESTS) $(OUT)/replay_recfile $(OUT)/replay_events $(OUT)/mtuwatch
	$(Q)OUT=$(OUT) TIERS=unit bash tests/run.sh

# The kernel matrix alone, every guest test (make check runs its CI subset): Debian 12's 6.1
# and 6.12 under QEMU, see tests/kernels/run.sh (KERNELS=6.1 to pick one).
check-kernels: deps
	$(Q)$(MAKE) --no-print-directory check-kernels-run

check-kernels-run: $(OUT)/mtuwatch $(OUT)/test-hooks/mtuwatch
	$(Q)OUT=$(OUT) TIERS=kernels GUEST_TESTS=$${GUEST_TESTS:-all} bash tests/run.sh

# The kernel's own PMTU selftest (../shared/external/selftests-net/pmtu.sh, or PMTU_SELFTESTS)
# with mtuwatch in every namespace of each test: tests/pmtu/run.sh, docs/testing.md. Root,
# about 24 minutes; not in check (a CI step of its own). PMTU_TESTS="name ..." picks tests,
# PMTU_REPEAT the runs of the list_flush tests (10).
check-pmtu: deps
	$(Q)$(MAKE) --no-print-directory check-pmtu-run

check-pmtu-run: $(OUT)/mtuwatch
	$(Q)OUT=$(OUT) PMTU_TESTS="$(PMTU_TESTS)" PMTU_REPEAT="$(PMTU_REPEAT)" bash tests/pmtu/run.sh

# The unit tier (and the BPF tier as root) built and run under ASan + UBSan, in its own build
# directory: an overread or undefined behaviour aborts the test that reached it.
SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
check-sanitize:
	$(Q)$(MAKE) --no-print-directory OUT=$(OUT)/sanitize SAN_CFLAGS="$(SAN)" \
		$(OUT)/sanitize/test_bpf check-unit-bins
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		OUT=$(OUT)/sanitize TIERS="unit$$([ "$$(id -u)" = 0 ] && echo ' bpf')" \
		bash tests/run.sh

check-unit-bins: $(UNIT_TESTS) $(OUT)/replay_recfile $(OUT)/replay_events $(OUT)/mtuwatch

fuzz: $(OUT)/fuzz_recfile $(OUT)/fuzz_events
	$(OUT)/fuzz_recfile -max_total_time=60 -rss_limit_mb=512 -max_len=65536 \
		$(OUT)/fuzz-corpus tests/fuzz/corpus
	mkdir -p $(OUT)/fuzz-corpus-events
	$(OUT)/fuzz_events -max_total_time=60 -rss_limit_mb=512 -max_len=131072 \
		$(OUT)/fuzz-corpus-events tests/fuzz/corpus-events

bench: $(OUT)/mtuwatch $(OUT)/null.bpf.o $(OUT)/nullload $(OUT)/proginfo
	OUT=$(OUT) bash tests/bench.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory demo-run

demo-run: $(OUT)/mtuwatch
	$(Q)OUT=$(OUT) bash tests/demo.sh

deps:
	@missing=$$(for p in $(DEBIAN_DEPS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "missing packages:" $$missing "-- run: sudo make deps"; exit 1; fi; \
	echo "installing:" $$missing; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $$missing

# The README's picture (issue 30): a seed's recording (the fwdrop lab, docs/img/seed-fwdrop.mtw)
# drawn by `report --html` and photographed by headless chromium. Commit the PNG it writes.
README_IMG := docs/img/timeline-fwdrop.png
readme-img: $(OUT)/mtuwatch
	$(call msg,HTML,$(OUT)/seed-fwdrop.html)
	$(Q)$(OUT)/mtuwatch report -i docs/img/seed-fwdrop.mtw --html $(OUT)/seed-fwdrop.html
	$(call msg,PNG,$(README_IMG))
	$(Q)timeout 120 chromium --headless --disable-gpu --no-sandbox --hide-scrollbars \
		--user-data-dir=$(abspath $(OUT))/chromium-profile --window-size=1000,860 \
		--screenshot=$(abspath $(README_IMG)) file://$(abspath $(OUT))/seed-fwdrop.html \
		>$(OUT)/readme-img.log 2>&1 || { cat $(OUT)/readme-img.log; exit 1; }

install: $(OUT)/mtuwatch
	install -D -m 0755 $(OUT)/mtuwatch $(DESTDIR)$(PREFIX)/sbin/mtuwatch
	install -D -m 0644 docs/mtuwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/mtuwatch.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/mtuwatch|$(PREFIX)/sbin/mtuwatch|' deploy/mtuwatch-exporter.service \
		> $(DESTDIR)$(UNITDIR)/mtuwatch-exporter.service
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/mtuwatch/prometheus deploy/prometheus/*.yml
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/mtuwatch/grafana deploy/grafana/*.json

# The PrometheusRule object from the rules file (the unit tier checks that they agree).
prometheusrule:
	bash deploy/gen-prometheusrule.sh deploy/prometheus/mtuwatch.rules.yml \
		> deploy/kubernetes/prometheusrule.yaml

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/mtuwatch $(DESTDIR)$(PREFIX)/share/man/man8/mtuwatch.8 \
		$(DESTDIR)$(UNITDIR)/mtuwatch-exporter.service
	rm -rf $(DESTDIR)$(PREFIX)/share/mtuwatch

# The Debian package (debian/, docs/packaging.md): dpkg-buildpackage writes into the parent
# directory; the .deb is moved into $(OUT).
# dpkg-buildpackage runs debian/rules, itself a makefile: without MAKEFLAGS, or this make's
# command line (`make deb OUT=build`) would reach it and its clean would remove OUT.
deb: | $(OUT)
	$(Q)env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b
	$(Q)v=$$(dpkg-parsechangelog -S Version); a=$$(dpkg --print-architecture); \
	mv ../mtuwatch_$(VERSION)_$$a.deb ../mtuwatch-dbgsym_$(VERSION)_$$a.deb \
		../mtuwatch_$${v}_$$a.buildinfo ../mtuwatch_$${v}_$$a.changes $(OUT)/
	$(Q)echo $(OUT)/mtuwatch_$(VERSION)_$$(dpkg --print-architecture).deb

# The container image (deploy/image/build.sh): the Debian 12 root of deploy/image/rootfs.sh plus
# the .deb, imported by podman as mtuwatch:$(IMAGE_TAG) and mtuwatch:latest. '+' is not
# allowed in an image tag: 0.1.0+g1a2b is tagged 0.1.0_g1a2b.
IMAGE_TAG := $(subst +,_,$(VERSION))
image: deb
	$(Q)bash deploy/image/build.sh $(OUT)/mtuwatch_$(VERSION)_$$(dpkg --print-architecture).deb \
		$(IMAGE_TAG)

clean:
	rm -rf $(OUT)

# ---- bench: null programs beside mtuwatch (tests/bench.sh) -------------------------------
$(OUT)/null.bpf.o: bpf/null.bpf.c $(OUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/nullload: tests/bench/nullload.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lbpf -lelf -lz -o $@

$(OUT)/proginfo: tests/bench/proginfo.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lbpf -lelf -lz -o $@
