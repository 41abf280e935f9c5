#!/usr/bin/env bash
# Runs the engine's real-kernel tests inside a small VM whose kernel mounts cgroup v2
# (this host mounts cgroup v1), so the v2 backend is tested on a real kernel.
#
#   tests/vm/run_vm_tests.sh BUILD_DIR TEST_BINARY...
#
# Binaries also named in $JUDGE_VM_WARM_TESTS (space-separated) run a second time with
# JUDGE_TEST_WARM=1: every run through a warm container (tests/sandbox/test_util.h).
#
# Everything comes from Debian's packages: the kernel is Debian's cloud kernel
# (apt-get download, cached in BUILD_DIR/vm), the userland is busybox-static plus the
# test binaries and the host programs the tests run, with their shared libraries.
# The VM boots under qemu with TCG (no KVM here), runs each test binary in a cgroup of
# its own below the root, prints a result line and powers off. A hard timeout makes
# sure it always stops.
set -euo pipefail

build=$(realpath "$1")
shift
tests=("$@")
work=$build/vm
mkdir -p "$work"
timeout_s=${JUDGE_VM_TIMEOUT:-900}

need() { command -v "$1" >/dev/null || { echo "run_vm_tests: $1 is missing; run scripts/setup.sh" >&2; exit 2; }; }
need qemu-system-x86_64
need cpio
[ -x /bin/busybox ] || { echo "run_vm_tests: /bin/busybox (busybox-static) is missing; run scripts/setup.sh" >&2; exit 2; }

# 1. The kernel: the current Debian cloud kernel package, downloaded once.
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
  apt-get update -qq
  pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
kdir=$work/$pkg
if [ ! -d "$kdir/boot" ]; then
  rm -rf "$kdir" "$work"/*.deb
  (cd "$work" && { apt-get download "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$pkg" >/dev/null; }; })
  dpkg-deb -x "$work/${pkg}"_*.deb "$kdir.tmp"
  mv "$kdir.tmp" "$kdir"
  rm -f "$work"/*.deb
fi
kernel=$(ls "$kdir"/boot/vmlinuz-*)
kver=${kernel##*/vmlinuz-}
overlay_ko=$(find "$kdir/lib/modules/$kver" -name 'overlay.ko*' | head -1)

# 2. The initramfs.
root=$work/root
rm -rf "$root"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,newroot,modules}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"

copy() {  # copy host files (following symlinks into real files, keeping link names)
  local f
  for f in "$@"; do
    [ -e "$f" ] || continue
    local real
    real=$(realpath "$f")
    mkdir -p "$root$(dirname "$real")"
    [ -e "$root$real" ] || cp "$real" "$root$real"
    if [ "$f" != "$real" ]; then
      local logical
      logical=$(realpath -s "$f")
      case "$logical" in /lib/*|/lib64/*|/bin/*|/sbin/*) logical=/usr$logical ;; esac
      if [ "$logical" != "$real" ] && [ ! -e "$root$logical" ]; then
        mkdir -p "$root$(dirname "$logical")"
        ln -s "$real" "$root$logical"
      fi
    fi
  done
}
copy_with_libs() {
  local f
  for f in "$@"; do
    [ -e "$f" ] || continue
    copy "$f"
    ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | while read -r lib; do copy "$lib"; done
  done
}

cp /bin/busybox "$root/usr/bin/busybox"
# Host programs the tests run inside containers (real ones; busybox fills the rest).
host_programs=(sh dash bash true false echo cat head tail yes sleep ls id env unshare printf
               seq dd wc mkdir rm touch chmod stat hostname grep sed tr cut sort uniq nproc
               timeout kill ps tee cp mv ln readlink realpath mount umount)
for p in "${host_programs[@]}"; do
  path=$(command -v "$p" || true)
  [ -n "$path" ] && copy_with_libs "$path"
done
for applet in $(/bin/busybox --list); do
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done
copy /etc/ld.so.cache /etc/ld.so.conf /etc/nsswitch.conf
cp -r /etc/ld.so.conf.d "$root/etc/" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
chmod 640 "$root/etc/shadow"
mkdir -p "$root/root" && chmod 700 "$root/root"

# The test binaries, the sandbox CLI and the test programs at their build paths (the
# tests find them by absolute path).
for t in "${tests[@]}"; do copy_with_libs "$t"; done
copy_with_libs "$build/sandbox/judge-sandbox"
for p in "$build"/tests/programs/*; do
  [ -f "$p" ] && [ -x "$p" ] && copy_with_libs "$p"
done
[ -n "$overlay_ko" ] && cp "$overlay_ko" "$root/modules/"

names=()
for t in "${tests[@]}"; do names+=("$(realpath "$t")"); done
warm_names=()
for t in ${JUDGE_VM_WARM_TESTS:-}; do warm_names+=("$(realpath "$t")"); done
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
# Stage 1: the initramfs cannot be pivot_root'ed (nor can a container's root be built
# below it), so copy it to a tmpfs and switch root.
/bin/busybox mount -t tmpfs -o size=1500m,mode=0755 newroot /newroot
for d in /* /.[!.]*; do
  case "$d" in /proc|/sys|/dev|/newroot|/init|'/.[!.]*') ;; *) /bin/busybox cp -a "$d" /newroot/ ;; esac
done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev
exec /bin/busybox switch_root /newroot /init2
INIT
cat >"$root/init2" <<INIT2
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=0755 run /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
for m in /modules/*.ko; do [ -e "\$m" ] && insmod "\$m"; done
echo "+memory +pids +cpu +cpuset" > /sys/fs/cgroup/cgroup.subtree_control
echo "VM: kernel \$(uname -r), cgroup2 controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
passed=0; failed=0; status=ok
n=0
for t in ${names[*]}; do
 for warm in "" ${warm_names[*]}; do
  [ -z "\$warm" ] || [ "\$warm" = "\$t" ] || continue
  n=\$((n + 1))
  # Each binary alone in a cgroup below the root: the engine must delegate from there.
  cg=/sys/fs/cgroup/runner\$n
  mkdir \$cg
  echo "VM: running \$t in \$cg\${warm:+ (warm containers)}"
  env \${warm:+JUDGE_TEST_WARM=1} sh -c "echo \\\$\\\$ > \$cg/cgroup.procs && exec \$t --gtest_color=no" > /tmp/out.txt 2>&1
  rc=\$?
  cat /tmp/out.txt
  p=\$(grep -o '^\[  PASSED  \] [0-9]*' /tmp/out.txt | grep -o '[0-9]*\$' || echo 0)
  f=\$(grep -o '^\[  FAILED  \] [0-9]* test' /tmp/out.txt | grep -o '[0-9]\+' || echo 0)
  passed=\$((passed + \${p:-0})); failed=\$((failed + \${f:-0}))
  [ \$rc -eq 0 ] || status=fail
  rmdir \$cg 2>/dev/null || { echo "VM: \$cg could not be removed (left: \$(ls \$cg | grep judge))"; status=fail; }
 done
done
echo "VM-RESULT: \$status \$passed passed, \$failed failed"
poweroff -f
INIT2
chmod +x "$root/init" "$root/init2"

initrd=$work/initrd.cpio
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$initrd"
echo "run_vm_tests: kernel $kver, initramfs $(du -h "$initrd" | cut -f1), ${#tests[@]} test binaries"

# 3. Boot.
log=$work/console.log
start=$(date +%s)
set +e
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 2 \
  -nographic -no-reboot -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 panic=-1 quiet rdinit=/init" </dev/null >"$log" 2>&1
rc=$?
set -e
end=$(date +%s)
tr -d '\r' <"$log" | grep -v '^\s*$' | sed -n '/VM: kernel/,$p'
result=$(tr -d '\r' <"$log" | grep '^VM-RESULT:' || true)
echo "run_vm_tests: VM step took $((end - start)) s (qemu exit $rc)"
if [ -z "$result" ]; then
  echo "run_vm_tests: the VM gave no result (timeout or crash); console log: $log" >&2
  tail -30 "$log" >&2
  exit 1
fi
case "$result" in
  "VM-RESULT: ok "*) exit 0 ;;
  *) exit 1 ;;
esac
