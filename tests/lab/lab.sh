#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# lab.sh — the hvabs test lab: a first-level VM (L1) under QEMU TCG with
# `-cpu qemu64,+svm,+npt`, which gives a standard nested KVM (kvm_amd) or a real
# Xen 4.17 with a PV dom0, whatever /dev/kvm the host has. A scenario script runs
# inside L1 and reports marker lines on the serial console; this script builds
# the images (cached), boots L1 under a time limit and turns the markers into an
# exit status. See docs/testing.md and `lab.sh --help`.
#
# Exit status: 0 every result passed; 1 a result failed, the run timed out, or
# the markers are missing or inconsistent; 2 usage or host setup error.
set -euo pipefail
export LC_ALL=C

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
CACHE=${HVABS_LAB_CACHE:-/var/cache/hvabs/lab}
# Without root, /var/cache is usually read-only and apt needs sudo.
if [[ -z ${HVABS_LAB_CACHE:-} ]] && ! { mkdir -p "$CACHE" 2>/dev/null && [[ -w $CACHE ]]; }; then
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/hvabs/lab
fi
SUDO=()
if ((EUID != 0)) && sudo -n true 2>/dev/null; then
	SUDO=(sudo -n)
fi
XEN_SERIES=4.17
XEN_TOOLS=/usr/lib/xen-$XEN_SERIES
# Only these dom0 tools and their libraries go into the Xen image: the daemons a
# dom0 needs, xl, and the helpers the Xen note found useful for device models.
XEN_BINS=(xl xenstored xenconsoled xen-init-dom0 libxl-save-helper xen-cpuid
	xen-hvmctx lsevtchn test-resource xenstore-control)
XENSTORE_LINKS=(read write ls list rm exists chmod watch)

usage() {
	cat <<'EOF'
usage: lab.sh [options]

Boots the L1 lab VM under QEMU TCG and runs one scenario inside it.

  --mode kvm|xen        L1 is Linux with kvm_amd (default) or Xen 4.17 + PV dom0
  --scenario NAME       run tests/lab/scenarios/NAME.sh inside L1 (required)
  --bin FILE            put an executable into /hvabs/bin (on PATH) with its
                        ldd libraries; repeatable
  --plugin FILE         put a backend plugin into /hvabs/backends
                        (HVABS_BACKEND_PATH inside L1); repeatable
  --build DIR           an hvabs build directory: adds DIR/backends/hvabs-*.so
  --payload DIR         copy DIR's contents into /payload; repeatable
  --cmd 'CMDLINE'       command line for the run-cmd scenario (/payload/cmd,
                        run with sh -e in /payload)
  --param KEY=VALUE     pass hvabs.KEY=VALUE on the L1 kernel command line; the
                        scenario reads it with lab_param; repeatable
  --module NAME         also load kernel module NAME (and its dependencies) in L1
  --smp N               L1 vCPUs (default 1; the host has 2 cores)
  --memory MB           L1 memory (default 2048)
  --timeout SECS        time limit of the VM run (default 600); on expiry the run
                        fails with the last 60 console lines
  --log FILE            console log (default under $CACHE/logs)
  --l1-kernel KIND      how L1 Linux (or dom0) is booted: vmlinux (default; the
                        ELF's PVH entry, or an ELF dom0 under Xen), or bzimage
  --lock-wait SECS      how long to wait for another lab run (default 900)
  --artifacts           build the kernel and L2 initramfs only and print their
                        paths as shell assignments; boots nothing
  -v, --verbose         stream the whole console, not just the markers
  -h, --help            this text

Environment: HVABS_LAB_CACHE (cache directory, default /var/cache/hvabs/lab,
or ~/.cache/hvabs/lab when that is not writable), HVABS_LAB_KERNEL_PKG (pin
the kernel package instead of the one linux-image-amd64 depends on).
Missing host packages are installed with apt-get as root (or sudo -n).
EOF
}

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 2
}
sha() { sha256sum -- "$1" | cut -c1-64; }
now_us() { printf '%s' "${EPOCHREALTIME/./}"; }
# Seconds (two decimals) since a now_us timestamp.
since() {
	local d=$(($(now_us) - $1))
	printf '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000))
}

# ---------------------------------------------------------------- options
mode=kvm
scenario=
smp=1
memory=2048
vm_timeout=600
log_file=
verbose=0
artifacts_only=0
lock_wait=900
l1_kernel=vmlinux
cmd=
have_cmd=0
bins=()
plugins=()
payloads=()
params=()
extra_modules=()

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
while (($#)); do
	case $1 in
	--mode) need_arg "$@"; mode=$2; shift 2 ;;
	--scenario) need_arg "$@"; scenario=$2; shift 2 ;;
	--bin) need_arg "$@"; bins+=("$2"); shift 2 ;;
	--plugin) need_arg "$@"; plugins+=("$2"); shift 2 ;;
	--build)
		need_arg "$@"
		[[ -d $2/backends ]] || die "--build $2: no backends/ directory (is it an hvabs build directory?)"
		for p in "$2"/backends/hvabs-*.so; do
			[[ -e $p ]] && plugins+=("$p")
		done
		shift 2
		;;
	--payload) need_arg "$@"; payloads+=("$2"); shift 2 ;;
	--cmd) need_arg "$@"; cmd=$2; have_cmd=1; shift 2 ;;
	--param) need_arg "$@"; params+=("$2"); shift 2 ;;
	--module) need_arg "$@"; extra_modules+=("$2"); shift 2 ;;
	--smp) need_arg "$@"; smp=$2; shift 2 ;;
	--memory) need_arg "$@"; memory=$2; shift 2 ;;
	--timeout) need_arg "$@"; vm_timeout=$2; shift 2 ;;
	--log) need_arg "$@"; log_file=$2; shift 2 ;;
	--l1-kernel) need_arg "$@"; l1_kernel=$2; shift 2 ;;
	--lock-wait) need_arg "$@"; lock_wait=$2; shift 2 ;;
	--artifacts) artifacts_only=1; shift ;;
	-v | --verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[[ $mode == kvm || $mode == xen ]] || die "--mode must be kvm or xen, not '$mode'"
[[ $l1_kernel == vmlinux || $l1_kernel == bzimage ]] || die "--l1-kernel must be vmlinux or bzimage"
for n in "$smp" "$memory" "$vm_timeout" "$lock_wait"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive integer"
done
for p in "${params[@]}"; do
	# The dom0 command line travels inside QEMU's comma-separated multiboot
	# module list, so neither commas nor spaces can appear in it.
	[[ $p =~ ^[A-Za-z0-9_]+=[A-Za-z0-9_.:/+@-]*$ ]] || die "--param '$p': want KEY=VALUE of [A-Za-z0-9_.:/+@-]"
done
for m in "${extra_modules[@]}"; do
	[[ $m =~ ^[A-Za-z0-9_-]+$ ]] || die "--module '$m' is not a module name"
done
if ((!artifacts_only)); then
	[[ -n $scenario ]] || die "--scenario is required (see --help)"
	[[ $scenario =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad scenario name '$scenario'"
	scenario_file=$LAB_DIR/scenarios/$scenario.sh
	[[ -f $scenario_file ]] || die "no scenario '$scenario' ($scenario_file); have: $(find "$LAB_DIR/scenarios" -name '*.sh' -printf '%f ' | sed 's/\.sh//g')"
	modes=$(sed -n 's/^# lab-modes:[[:space:]]*//p' "$scenario_file" | head -n1)
	[[ " ${modes:-kvm xen} " == *" $mode "* ]] || die "scenario $scenario runs in mode(s) '$modes', not $mode"
	needs=" $(sed -n 's/^# lab-needs:[[:space:]]*//p' "$scenario_file" | head -n1) "
fi
for f in "${bins[@]}" "${plugins[@]}"; do
	[[ -f $f && -r $f ]] || die "no such file: $f"
done
for d in "${payloads[@]}"; do
	[[ -d $d ]] || die "--payload $d is not a directory"
done
[[ $CACHE != *[[:space:],]* ]] || die "HVABS_LAB_CACHE must not contain spaces or commas (QEMU's multiboot module list)"

# ---------------------------------------------------------------- host packages
pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

ensure_pkgs() {
	local missing=() p out
	for p; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	((EUID == 0 || ${#SUDO[@]})) || die "missing host packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})"
	log "installing host packages: ${missing[*]}"
	out=$CACHE/apt-install.log
	if ! timeout 900 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}" >"$out" 2>&1; then
		log "apt-get install failed; running apt-get update and retrying"
		timeout 300 "${SUDO[@]}" apt-get update >>"$out" 2>&1 || true
		if ! timeout 900 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "${missing[@]}" >>"$out" 2>&1; then
			tail -n 30 "$out" >&2
			die "apt-get install ${missing[*]} failed (log: $out)"
		fi
	fi
}

# ---------------------------------------------------------------- cache
mkdir -p "$CACHE" 2>/dev/null || die "cannot create cache $CACHE (set HVABS_LAB_CACHE)"
[[ -w $CACHE ]] || die "cache $CACHE is not writable (set HVABS_LAB_CACHE)"
mkdir -p "$CACHE"/{debs,kernel,img,xen,logs,tmp}

# One lab run at a time per cache: it protects the cache and keeps two TCG VMs
# from sharing the host's two cores, which doubles both their run times.
exec {lock_fd}>"$CACHE/.lock"
t_lock=$(now_us)
if ! flock -n "$lock_fd"; then
	log "waiting up to ${lock_wait}s for another lab run to finish (lock $CACHE/.lock)"
	flock -w "$lock_wait" "$lock_fd" || die "another lab run still holds $CACHE/.lock after ${lock_wait}s"
	log "got the lab lock after $(since "$t_lock")s"
fi

work=$(mktemp -d "$CACHE/tmp/run.XXXXXX")
vm_pid=
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	if [[ -n $vm_pid ]]; then
		kill -TERM "$vm_pid" 2>/dev/null || true
	fi
	rm -rf -- "$work"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 1' INT TERM HUP
# Old images and logs are pruned by age; every hit refreshes an image's mtime.
find "$CACHE/img" "$CACHE/logs" -type f -mtime +30 -delete 2>/dev/null || true
find "$CACHE/tmp" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null || true

# --artifacts boots nothing: no QEMU or Xen for a caller that only wants the
# kernel and the L2 initramfs (examples/demo.sh, with-lab-kernel.sh).
host_pkgs=(busybox-static kmod xz-utils)
((artifacts_only)) || host_pkgs+=(qemu-system-x86)
[[ $mode == xen ]] && ((!artifacts_only)) && host_pkgs+=("xen-hypervisor-$XEN_SERIES-amd64" "xen-utils-$XEN_SERIES")
ensure_pkgs "${host_pkgs[@]}"

# ---------------------------------------------------------------- kernel
# The .deb is keyed by package name and version; the extracted tree and the
# vmlinux by those plus the extractor's contents.
fetch_deb() {
	local pkg=$1 ver=$2 f tmpd
	f=$CACHE/debs/${pkg}_${ver//:/%3a}_amd64.deb
	if [[ -s $f ]]; then
		log "cache hit: $pkg $ver (.deb)"
	else
		log "cache miss: downloading $pkg $ver"
		tmpd=$(mktemp -d "$work/deb.XXXXXX")
		local apt_opts=()
		((EUID == 0)) && apt_opts=(-o APT::Sandbox::User=root)
		if ! (cd "$tmpd" && timeout 600 apt-get "${apt_opts[@]}" download "$pkg=$ver") >&2; then
			# Stale package lists name a version the archive no longer has.
			((EUID == 0 || ${#SUDO[@]})) ||
				die "apt-get download $pkg=$ver failed (is the Debian archive reachable? are the package lists current?)"
			log "apt-get download failed; running apt-get update and retrying"
			timeout 300 "${SUDO[@]}" apt-get update >&2 || true
			(cd "$tmpd" && timeout 600 apt-get "${apt_opts[@]}" download "$pkg=$ver") >&2 ||
				die "apt-get download $pkg=$ver failed (is the Debian archive reachable?)"
		fi
		mv -f -- "$tmpd"/*.deb "$f"
	fi
	printf '%s' "$f"
}

resolve_kernel_pkg() {
	local out
	out=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [[ -z $out ]] && ((EUID == 0 || ${#SUDO[@]})); then
		log "apt-cache knows no linux-image-amd64; running apt-get update"
		timeout 300 "${SUDO[@]}" apt-get update >&2 || true
		out=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	printf '%s' "$out"
}

prepare_kernel() {
	local key deb tmpk rels
	KPKG=${HVABS_LAB_KERNEL_PKG:-$(resolve_kernel_pkg)}
	KVER=
	[[ -n $KPKG ]] && KVER=$(apt-cache policy "$KPKG" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
	if [[ -z $KVER || $KVER == "(none)" ]]; then
		# Offline: fall back to the newest kernel already in the cache.
		KDIR=$(find "$CACHE/kernel" -mindepth 2 -maxdepth 2 -name .complete -printf '%T@ %h\n' |
			sort -rn | head -n1 | cut -d' ' -f2-)
		[[ -n $KDIR ]] || die "cannot resolve the kernel package (apt-cache depends linux-image-amd64) and the cache has none"
		log "apt gives no kernel version; using cached $(basename "$KDIR")"
	else
		key=$(printf 'kernel-v1\n%s\n%s\n%s\n' "$KPKG" "$KVER" "$(sha "$LAB_DIR/extract-vmlinux.sh")" | sha256sum | cut -c1-16)
		KDIR=$CACHE/kernel/$KPKG-$key
		if [[ -f $KDIR/.complete ]]; then
			log "cache hit: kernel $KPKG $KVER"
		else
			log "cache miss: kernel $KPKG $KVER"
			deb=$(fetch_deb "$KPKG" "$KVER")
			tmpk=$(mktemp -d "$CACHE/kernel/.tmp.XXXXXX")
			dpkg-deb -x "$deb" "$tmpk/root"
			rels=("$tmpk"/root/lib/modules/*)
			[[ ${#rels[@]} -eq 1 && -d ${rels[0]} ]] || die "$deb: expected one lib/modules/<release> directory"
			KREL=${rels[0]##*/}
			cp -- "$tmpk/root/boot/vmlinuz-$KREL" "$tmpk/vmlinuz"
			"$LAB_DIR/extract-vmlinux.sh" "$tmpk/vmlinuz" "$tmpk/vmlinux"
			mkdir -p "$tmpk/mods"
			printf '%s\n' "$KREL" >"$tmpk/release"
			printf '%s %s\n' "$KPKG" "$KVER" >"$tmpk/package"
			touch "$tmpk/.complete"
			rm -rf -- "$KDIR"
			mv -- "$tmpk" "$KDIR"
		fi
	fi
	KREL=$(<"$KDIR/release")
	MODROOT=$KDIR/root/lib/modules/$KREL
}

# Module name (dashes and underscores are the same) -> file in the package.
declare -A MODPATH=()
index_modules() {
	local f n
	((${#MODPATH[@]})) && return 0
	while IFS= read -r -d '' f; do
		n=${f##*/}
		n=${n%%.ko*}
		MODPATH[${n//-/_}]=$f
	done < <(find "$MODROOT" -name '*.ko*' -print0)
}

# A module as a plain .ko (busybox insmod cannot read compressed ones).
mod_file() {
	local n=$1 src=${MODPATH[$1]} out
	case $src in
	*.ko) printf '%s' "$src"; return 0 ;;
	esac
	out=$KDIR/mods/$n.ko
	if [[ ! -s $out ]]; then
		case $src in
		*.ko.xz) xz -dc -- "$src" >"$out.tmp" ;;
		*.ko.zst) ensure_pkgs zstd && zstd -dcq -- "$src" >"$out.tmp" ;;
		*.ko.gz) gzip -dc -- "$src" >"$out.tmp" ;;
		*) die "$src: unknown module compression" ;;
		esac
		mv -f -- "$out.tmp" "$out"
	fi
	printf '%s' "$out"
}

# Sets MOD_ORDER to the named modules and everything they depend on
# (modinfo -F depends), dependencies first, as insmod needs them.
declare -A MOD_SEEN=()
MOD_ORDER=()
mod_visit() {
	local n=${1//-/_} d deps
	[[ -n ${MOD_SEEN[$n]:-} ]] && return 0
	MOD_SEEN[$n]=1
	if [[ -z ${MODPATH[$n]:-} ]]; then
		if grep -qE "/${n//_/[-_]}\.ko\$" "$MODROOT/modules.builtin" 2>/dev/null; then
			return 0
		fi
		die "kernel $KREL has no module '$n'"
	fi
	deps=$(modinfo -F depends "${MODPATH[$n]}")
	for d in ${deps//,/ }; do
		mod_visit "$d"
	done
	MOD_ORDER+=("$n")
}
resolve_modules() {
	index_modules
	MOD_SEEN=()
	MOD_ORDER=()
	local m
	for m; do
		mod_visit "$m"
	done
}

# ---------------------------------------------------------------- images
# An image is described by a spec (files, links, directories) whose hash,
# together with this script's own hash, names the cached cpio.gz.
SPEC=()
declare -A SPEC_SEEN=()
img_reset() {
	SPEC=()
	SPEC_SEEN=()
}
img_file() { # SRC DEST [MODE]
	[[ -n ${SPEC_SEEN[$2]:-} ]] && return 0
	[[ -f $1 ]] || die "image input $1 is missing"
	SPEC_SEEN[$2]=1
	SPEC+=("f|$2|${3:-0644}|$(readlink -f -- "$1")")
}
img_link() { # TARGET DEST
	[[ -n ${SPEC_SEEN[$2]:-} ]] && return 0
	SPEC_SEEN[$2]=1
	SPEC+=("l|$2|$1")
}
img_dir() {
	[[ -n ${SPEC_SEEN[$1]:-} ]] && return 0
	SPEC_SEEN[$1]=1
	SPEC+=("d|$1")
}
img_text() { # DEST CONTENT: a generated file
	local f
	f=$(mktemp "$work/gen.XXXXXX")
	printf '%s' "$2" >"$f"
	img_file "$f" "$1" "${3:-0644}"
}
# Every library goes to /lib/x86_64-linux-gnu, which the dynamic loader
# searches by default, so build-tree RUNPATHs do not matter inside the VM.
img_libs() {
	local out line name path
	if ! out=$(ldd -- "$1" 2>&1); then
		[[ $out == *"not a dynamic executable"* ]] && return 0
		die "ldd $1: $out"
	fi
	while IFS= read -r line; do
		line=${line#"${line%%[![:space:]]*}"}
		case $line in
		*"=> not found"*) die "$1 needs ${line%% *}, which ldd cannot find" ;;
		*" => /"*)
			name=${line%% =>*}
			path=${line#*=> }
			path=${path%% (*}
			img_file "$path" "/lib/x86_64-linux-gnu/${name##*/}" 0755
			;;
		/*)
			path=${line%% (*}
			img_file "$path" "$path" 0755
			img_file "$path" "/lib/x86_64-linux-gnu/${path##*/}" 0755
			;;
		esac
	done <<<"$out"
	# glibc dlopens libgcc_s for pthread_cancel and unwinding; xl aborts without it.
	img_file /lib/x86_64-linux-gnu/libgcc_s.so.1 /lib/x86_64-linux-gnu/libgcc_s.so.1 0644
}
img_elf() { # SRC DEST
	img_file "$1" "$2" 0755
	img_libs "$1"
}
img_busybox() {
	local a
	img_file /bin/busybox /bin/busybox 0755
	while IFS= read -r a; do
		[[ $a == bin/busybox || $a == linuxrc ]] && continue
		img_link /bin/busybox "/$a"
	done < <(/bin/busybox --list-full)
	local d
	for d in /proc /sys /dev /run /tmp /root /etc /var /usr/lib /lib64 /lib/x86_64-linux-gnu; do
		img_dir "$d"
	done
	img_link /run /var/run
	img_link ../../lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu
}
img_modules() { # DIR: the modules in MOD_ORDER and DIR/order listing them
	local n
	for n in "${MOD_ORDER[@]}"; do
		img_file "$(mod_file "$n")" "$1/$n.ko"
	done
	img_text "$1/order" "$(printf '%s\n' "${MOD_ORDER[@]}")"$'\n'
}

# Prints the path of the cached cpio.gz for the current spec, building it on a miss.
img_build() { # NAME
	local name=$1 manifest="" e t dest mode src key out stage t0
	for e in "${SPEC[@]}"; do
		IFS='|' read -r t dest mode src <<<"$e"
		case $t in
		f) manifest+="f $dest $mode $(sha "$src")"$'\n' ;;
		*) manifest+="$e"$'\n' ;;
		esac
	done
	key=$(printf 'img-v1\n%s\n%s' "$(sha "$LAB_DIR/lab.sh")" "$manifest" | sha256sum | cut -c1-16)
	out=$CACHE/img/$name-$key.cpio.gz
	if [[ -s $out ]]; then
		touch -- "$out"
		log "cache hit: image $name ($(du -h -- "$out" | cut -f1))"
		printf '%s' "$out"
		return 0
	fi
	t0=$(now_us)
	stage=$(mktemp -d "$work/stage.XXXXXX")
	for e in "${SPEC[@]}"; do
		IFS='|' read -r t dest mode src <<<"$e"
		case $t in
		d) mkdir -p -- "$stage$dest" ;;
		l)
			mkdir -p -- "$(dirname -- "$stage$dest")"
			ln -sfn -- "$mode" "$stage$dest"
			;;
		f)
			mkdir -p -- "$(dirname -- "$stage$dest")"
			cp -- "$src" "$stage$dest"
			chmod "$mode" -- "$stage$dest"
			;;
		esac
	done
	(cd "$stage" && find . -mindepth 1 | sort | /bin/busybox cpio -o -H newc 2>/dev/null) |
		gzip -n -6 >"$out.tmp.$$"
	mv -f -- "$out.tmp.$$" "$out"
	rm -rf -- "$stage"
	log "cache miss: built image $name ($(du -h -- "$out" | cut -f1), $(since "$t0") s)"
	printf '%s' "$out"
}

build_l2_initrd() {
	local c mods
	mods=$(sed -e 's/#.*//' "$LAB_DIR/l2-modules.list" | tr -s ' \n' ' ')
	# shellcheck disable=SC2086 # the list is words
	resolve_modules $mods
	img_reset
	img_busybox
	img_file "$LAB_DIR/l2-init.sh" /init 0755
	img_dir /checks
	for c in "$LAB_DIR"/l2-checks/*.sh; do
		[[ -e $c ]] && img_file "$c" "/checks/${c##*/}" 0755
	done
	img_modules /lib/modules/l2
	L2_INITRD=$(img_build l2-initrd)
}

build_l1_base() {
	local mods=() b x
	if [[ $mode == kvm ]]; then
		mods=(kvm_amd)
	else
		mods=(xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc)
	fi
	resolve_modules "${mods[@]}" "${extra_modules[@]}"
	img_reset
	img_busybox
	img_file "$LAB_DIR/l1-init.sh" /init 0755
	img_file "$LAB_DIR/lab-lib.sh" /lab/lib.sh
	img_modules /lab/modules
	if [[ $mode == xen ]]; then
		for b in "${XEN_BINS[@]}"; do
			img_elf "$XEN_TOOLS/bin/$b" "$XEN_TOOLS/bin/$b"
		done
		img_elf /usr/bin/xenstore /usr/bin/xenstore
		for x in "${XENSTORE_LINKS[@]}"; do
			img_link xenstore "/usr/bin/xenstore-$x"
		done
		img_file "$XEN_TOOLS/boot/hvmloader" "$XEN_TOOLS/boot/hvmloader"
		img_file /etc/xen/xl.conf /etc/xen/xl.conf
		img_dir /var/lib/xen
		img_dir /var/log/xen
	fi
	BASE_IMG=$(img_build "l1-base-$mode")
}

build_l1_qemu() {
	local b
	img_reset
	img_elf /usr/bin/qemu-system-x86_64 /usr/bin/qemu-system-x86_64
	# Firmware for -M microvm (qboot) and for the PVH/linuxboot paths of -M pc.
	for b in bios-microvm.bin qboot.rom pvh.bin linuxboot_dma.bin bios-256k.bin kvmvapic.bin; do
		[[ -e /usr/share/qemu/$b ]] && img_file "/usr/share/qemu/$b" "/usr/share/qemu/$b"
	done
	QEMU_IMG=$(img_build l1-qemu)
}

build_l1_l2() {
	img_reset
	img_file "$KDIR/vmlinux" /l2/vmlinux
	img_file "$KDIR/vmlinuz" /l2/vmlinuz
	img_file "$L2_INITRD" /l2/initrd.img
	L2_IMG=$(img_build l1-l2payload)
}

build_l1_run() {
	local f d rel mode_bits
	img_reset
	img_file "$scenario_file" "/lab/scenarios/$scenario.sh" 0755
	for f in "${bins[@]}"; do
		img_elf "$f" "/hvabs/bin/${f##*/}"
	done
	for f in "${plugins[@]}"; do
		img_elf "$f" "/hvabs/backends/${f##*/}"
	done
	img_dir /payload
	((have_cmd)) && img_text /payload/cmd "$cmd"$'\n'
	for d in "${payloads[@]}"; do
		while IFS= read -r -d '' f; do
			rel=${f#"$d"}
			rel=${rel#/}
			mode_bits=$(stat -L -c %a -- "$f")
			img_file "$f" "/payload/$rel" "$mode_bits"
		done < <(find -L "$d" -type f -print0)
	done
	RUN_IMG=$(img_build "l1-run-$scenario")
}

prepare_xen() {
	local gz=/boot/xen-$XEN_SERIES-amd64.gz ver key
	[[ -f $gz ]] || die "$gz is missing (package xen-hypervisor-$XEN_SERIES-amd64)"
	ver=$(dpkg-query -W -f='${Version}' "xen-hypervisor-$XEN_SERIES-amd64")
	key=$(printf 'xen-v1\n%s\n%s\n' "$ver" "$(sha "$gz")" | sha256sum | cut -c1-16)
	XEN_ELF=$CACHE/xen/xen-$XEN_SERIES-$key
	if [[ -s $XEN_ELF ]]; then
		log "cache hit: xen $ver"
	else
		log "cache miss: xen $ver (unpacking $gz)"
		zcat -- "$gz" >"$XEN_ELF.tmp"
		mv -f -- "$XEN_ELF.tmp" "$XEN_ELF"
	fi
}

# ---------------------------------------------------------------- build
t_start=$(now_us)
prepare_kernel
build_l2_initrd
if ((artifacts_only)); then
	printf 'HVABS_LAB_KERNEL_RELEASE=%q\n' "$KREL"
	printf 'HVABS_LAB_BZIMAGE=%q\n' "$KDIR/vmlinuz"
	printf 'HVABS_LAB_VMLINUX=%q\n' "$KDIR/vmlinux"
	printf 'HVABS_LAB_MODULES=%q\n' "$MODROOT"
	printf 'HVABS_LAB_L2_INITRD=%q\n' "$L2_INITRD"
	exit 0
fi
build_l1_base
parts=("$BASE_IMG")
if [[ $needs == *" qemu "* ]]; then
	build_l1_qemu
	parts+=("$QEMU_IMG")
fi
if [[ $needs == *" gnutime "* ]]; then
	# busybox time reports ru_maxrss four times too high (it takes it for
	# pages); GNU time reports it in KiB.
	ensure_pkgs time
	img_reset
	img_elf /usr/bin/time /usr/lib/lab/gnu-time
	parts+=("$(img_build l1-gnutime)")
fi
if [[ $needs == *" l2 "* ]]; then
	build_l1_l2
	parts+=("$L2_IMG")
fi
build_l1_run
parts+=("$RUN_IMG")
# The kernel unpacks concatenated compressed cpio archives in order, so the
# cached parts are joined rather than rebuilt.
initrd=$work/initrd.img
cat -- "${parts[@]}" >"$initrd"
[[ $mode == xen ]] && prepare_xen
t_build=$(since "$t_start")

# ---------------------------------------------------------------- boot
if [[ -z $log_file ]]; then
	log_file=$CACHE/logs/$mode-$scenario-$(date +%Y%m%d-%H%M%S)-$$.log
fi
mkdir -p -- "$(dirname -- "$log_file")"

l1_args="panic=-1 quiet hvabs.mode=$mode hvabs.scenario=$scenario"
for p in "${params[@]}"; do
	l1_args+=" hvabs.$p"
done
# shellcheck disable=SC2054 # the commas belong to -cpu
qemu=(qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt -m "$memory" -smp "$smp"
	-nographic -no-reboot -nic none)
l1k=$KDIR/vmlinux
[[ $l1_kernel == bzimage ]] && l1k=$KDIR/vmlinuz
if [[ $mode == kvm ]]; then
	qemu+=(-kernel "$l1k" -initrd "$initrd" -append "console=ttyS0 $l1_args")
else
	# Multiboot: Xen is the kernel, dom0's kernel and initramfs are modules
	# ("file args,file"). dom0_mem leaves room for guests.
	qemu+=(-kernel "$XEN_ELF"
		-append "console=com1 com1=115200,8n1 dom0_mem=768M,max:768M"
		-initrd "$l1k console=hvc0 $l1_args,$initrd")
fi

# Timestamps every console line with host seconds since QEMU started, saves it
# and shows the marker lines (or everything with -v) as they arrive.
stamp() {
	local line t0=$1 d ts
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line//$'\r'/}
		d=$(($(now_us) - t0))
		printf -v ts '[%7d.%02d]' $((d / 1000000)) $((d % 1000000 / 10000))
		printf '%s %s\n' "$ts" "$line"
		if ((verbose)) || [[ $line == *HVABS-* ]]; then
			printf '%s %s\n' "$ts" "$line" >&2
		fi
	done
}

log "booting L1 ($mode, scenario $scenario, -smp $smp, time limit ${vm_timeout}s); images ready in ${t_build}s"
log "console log: $log_file"
mkfifo "$work/console"
t_boot=$(now_us)
nice -n 10 timeout --kill-after=15 "$vm_timeout" "${qemu[@]}" </dev/null >"$work/console" 2>&1 &
vm_pid=$!
stamp "$t_boot" <"$work/console" >"$log_file"
set +e
wait "$vm_pid"
vm_rc=$?
set -e
vm_pid=
t_run=$(since "$t_boot")

# ---------------------------------------------------------------- verdict
failures=()
npass=0
nfail=0
done_line=
while IFS= read -r line; do
	m=${line#*HVABS-RESULT }
	if [[ $m =~ ^([^[:space:]]+)\ (PASS|FAIL)(\ (.*))?$ ]]; then
		if [[ ${BASH_REMATCH[2]} == PASS ]]; then
			npass=$((npass + 1))
		else
			nfail=$((nfail + 1))
			failures+=("${BASH_REMATCH[1]}: ${BASH_REMATCH[4]}")
		fi
		printf 'lab: result %s %s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[4]}"
	else
		nfail=$((nfail + 1))
		failures+=("malformed marker: $m")
	fi
done < <(grep -a 'HVABS-RESULT ' "$log_file" || true)
done_line=$(grep -a -o 'HVABS-LAB-DONE .*' "$log_file" | tail -n1 || true)
t_init=$(grep -a -m1 'HVABS-LAB-INIT ' "$log_file" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p' || true)

if ((vm_rc == 124 || vm_rc == 137)); then
	failures+=("timed out after ${vm_timeout}s")
elif ((vm_rc != 0)); then
	failures+=("qemu exited with status $vm_rc")
fi
if [[ -z $done_line ]]; then
	failures+=("no HVABS-LAB-DONE marker: L1 did not finish its scenario")
elif [[ $done_line =~ ^HVABS-LAB-DONE\ rc=([0-9]+)\ pass=([0-9]+)\ fail=([0-9]+) ]]; then
	((BASH_REMATCH[1] == 0)) || failures+=("scenario exit status ${BASH_REMATCH[1]}")
	# The guest counts what it printed; a line mangled on the way (e.g. by a
	# kernel message in the middle of it) must not vanish silently.
	if ((BASH_REMATCH[2] != npass || BASH_REMATCH[3] != nfail)); then
		failures+=("L1 reported pass=${BASH_REMATCH[2]} fail=${BASH_REMATCH[3]}, the log shows pass=$npass fail=$nfail")
	fi
else
	failures+=("malformed marker: $done_line")
fi
((npass + nfail > 0)) || failures+=("the scenario reported no results")

summary="mode=$mode scenario=$scenario results=$npass/$((npass + nfail)) build=${t_build}s run=${t_run}s l1-init=${t_init:-?}s"
if ((${#failures[@]} == 0)); then
	printf 'lab: PASS %s\nlab: log %s\n' "$summary" "$log_file"
	exit 0
fi
printf 'lab: ---- last 60 console lines ----\n'
tail -n 60 -- "$log_file"
printf 'lab: ----\n'
for f in "${failures[@]}"; do
	printf 'lab: FAIL %s\n' "$f"
done
printf 'lab: FAIL %s\nlab: log %s\n' "$summary" "$log_file"
exit 1
