#!/usr/bin/env bash
# Idempotent setup of the torch stack for this repository.
#
# 1. Finds libtorch: $LIBTORCH (a folder with include/ and lib/, such as the official
#    distribution), else Debian's libtorch-dev under /usr, else installs libtorch-dev with apt.
#    With Debian's libtorch, installs Debian's OpenBLAS (OpenMP build) when libblas.so.3 is
#    the reference BLAS (SMOOTHL1_KEEP_BLAS=1 skips it).
# 2. Reads its version from torch/version.h.
# 3. Prepares gotch v0.9.1 for CPU the way gotch's own setup-gotch.sh does (a rewritten
#    libtch/lib.go), but in a git-ignored local copy (.deps/gotch) wired in with a git-ignored
#    go.work replace, so the shared module cache is never edited.
# 4. For libtorch 1.13 (Debian), puts the project's compat header (scripts/gotch/compat_libtorch113.h)
#    beside the wrapper and force-includes it; the official 2.1 distribution needs none.
#    Patches gotch's Go code in that copy against its C-memory leaks (scripts/gotch/patch_leaks.sh).
# 5. Compiles the project's own C++ (tensorloss/csrc: a custom autograd function, which gotch
#    lacks) with the wrapper's flags into a second archive that the copy's libtch links.
# 6. Compiles the project's C++ layer over libtorch's c10d for package distributed
#    (scripts/c10d.sh; installs libgloo-dev with apt when Gloo's headers are missing).
# 7. Builds gotch and package distributed to check the result.
#
# Re-running it when everything is in place only re-checks: the local copy is rewritten only when
# an input changed, so Go's build cache keeps the compiled wrapper.
set -euo pipefail

GOTCH_VERSION=v0.9.1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
deps="$root/.deps"
dst="$deps/gotch"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go 1.24 or newer is needed)"
command -v g++ >/dev/null 2>&1 || need_gxx=1

# ---- 1. libtorch -------------------------------------------------------------------------
inc="" lib=""
if [ -n "${LIBTORCH:-}" ]; then
  [ -f "$LIBTORCH/include/torch/csrc/api/include/torch/version.h" ] ||
    die "LIBTORCH=$LIBTORCH has no include/torch/csrc/api/include/torch/version.h: point it at an unpacked libtorch folder"
  inc="$LIBTORCH/include"; lib="$LIBTORCH/lib"
elif [ -f /usr/include/torch/csrc/api/include/torch/version.h ] && [ -z "${need_gxx:-}" ]; then
  inc=/usr/include; lib=/usr/lib/x86_64-linux-gnu
else
  say "libtorch not found: installing Debian's libtorch-dev (and g++) with apt"
  [ "$(id -u)" = 0 ] || die "installing libtorch-dev needs root (run as root, or set LIBTORCH to an unpacked libtorch)"
  command -v apt-get >/dev/null 2>&1 || die "no apt-get here: install libtorch yourself and set LIBTORCH to its folder"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends libtorch-dev g++ >/dev/null 2>&1; then
    say "apt-get update"
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends libtorch-dev g++ ||
      die "apt-get install libtorch-dev failed"
  fi
  [ -f /usr/include/torch/csrc/api/include/torch/version.h ] || die "libtorch-dev installed but torch/version.h is missing"
  inc=/usr/include; lib=/usr/lib/x86_64-linux-gnu
fi
# ---- 1b. the BLAS -------------------------------------------------------------------------
# Debian's libtorch calls the BLAS through libblas.so.3, which Debian's alternatives point at
# the reference BLAS (netlib, about 1.3 GFLOP/s for a 256x256 float32 matmul here) unless an
# optimised one is installed. OpenBLAS's OpenMP build runs on the same OpenMP threads as
# libtorch, so libtorch's thread count (--threads, torch.set_num_threads) is the BLAS's too;
# its pthread build would start threads of its own. Installing it switches the alternative
# (auto mode) for the whole machine, as Debian intends; SMOOTHL1_KEEP_BLAS=1 skips this step,
# and a manual choice of alternative is left alone.
if [ "$inc" = /usr/include ] && [ -z "${SMOOTHL1_KEEP_BLAS:-}" ]; then
  blas=$(readlink -f "$lib/libblas.so.3" 2>/dev/null || true)
  case "$blas" in
    *openblas-openmp*) ;;
    *)
      alt=$(update-alternatives --query "libblas.so.3-$(basename "$lib")" 2>/dev/null | awk '/^Status:/{print $2}')
      if [ "$alt" = manual ]; then
        say "libblas.so.3 is $blas by a manual choice of alternative: left alone (OpenBLAS's OpenMP build is what the bench measured)"
      elif [ "$(id -u)" != 0 ]; then
        say "libblas.so.3 is $blas; as root, setup would install libopenblas0-openmp (matmuls about 10x faster)"
      else
        say "installing Debian's libopenblas0-openmp (libtorch's matmuls; libblas.so.3 was $blas)"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -q --no-install-recommends libopenblas0-openmp >/dev/null 2>&1; then
          apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends libopenblas0-openmp >/dev/null ||
            say "warning: apt-get install libopenblas0-openmp failed; libtorch keeps $blas"
        fi
        say "libblas.so.3 is now $(readlink -f "$lib/libblas.so.3")"
      fi
      ;;
  esac
fi

vh="$inc/torch/csrc/api/include/torch/version.h"
major=$(awk '/define TORCH_VERSION_MAJOR/{print $3}' "$vh")
minor=$(awk '/define TORCH_VERSION_MINOR/{print $3}' "$vh")
[ -n "$major" ] && [ -n "$minor" ] || die "cannot read the version from $vh"
ver="$major.$minor"
case "$ver" in
  1.13) compat=1 ;;
  2.1) compat=0 ;;
  *) die "libtorch $ver at $inc: gotch $GOTCH_VERSION needs libtorch 2.1 (or Debian's 1.13 with the project's compat header)" ;;
esac

# ---- 2. the local copy of gotch ----------------------------------------------------------
src=$(cd "$root" && go mod download -json "github.com/sugarme/gotch@$GOTCH_VERSION" | awk -F'"' '/"Dir"/{print $4}')
[ -n "$src" ] && [ -d "$src" ] || die "go mod download github.com/sugarme/gotch@$GOTCH_VERSION failed"

libgo=$(cat <<EOF
// Code generated by scripts/setup.sh for libtorch $ver at $inc. DO NOT EDIT.

package libtch

// #cgo CFLAGS: -I\${SRCDIR} -O1 -g0 -Wall -Wno-unused-variable -Wno-deprecated-declarations -Wno-c++11-narrowing -Wno-sign-compare -Wno-unused-function
// #cgo CFLAGS: -D_GLIBCXX_USE_CXX11_ABI=1
// #cgo LDFLAGS: \${SRCDIR}/@ARCHIVE@
// #cgo LDFLAGS: \${SRCDIR}/@OWN_ARCHIVE@
// #cgo LDFLAGS: -lstdc++ -ltorch -lc10 -ltorch_cpu -lm
EOF
)
# gotch's C++ wrapper (torch_api.cpp, one large translation unit) is compiled here, once, into
# an archive the package links, instead of by cgo: cgo would compile it again for every new set
# of Go compiler flags (go test -race, -fuzz, -cover each meant another 2-5 minutes).
cxxflags=(-std=c++17 -O2 -fPIC -m64 -pthread -I"$inc/torch/csrc/api/include")
[ "$inc" != /usr/include ] && cxxflags+=(-I"$inc")
if [ "$inc" != /usr/include ]; then
  libgo+=$'\n'"// #cgo CFLAGS: -I$inc"
  libgo+=$'\n'"// #cgo LDFLAGS: -L$lib -Wl,-rpath,$lib"
fi
libgo+=$'\n''import "C"'$'\n'

stamp="$dst/.smoothl1-setup"
# The project's own C++, linked like the wrapper: packages declare its C functions and they
# resolve at link time (tensorloss's smoothl1_inject_gradient, as torchthread's at_* calls).
own_src=(tensorloss/csrc/inject_gradient.cpp)
want=$( { echo "$GOTCH_VERSION $ver $inc ${cxxflags[*]} $(g++ --version 2>/dev/null | head -1)"; printf '%s' "$libgo"; [ "$compat" = 1 ] && cat scripts/gotch/compat_libtorch113.h; cat scripts/gotch/patch_leaks.sh "$0" "${own_src[@]}"; } | sha256sum | cut -d' ' -f1)
# The archive's name carries its inputs' hash: Go's build cache keys on the flags, not on the
# archive's content, so a new archive must be a new flag. An archive with the same inputs is
# reused from the previous copy.
archive_hash=$( { echo "$GOTCH_VERSION $ver $inc ${cxxflags[*]} $(g++ --version 2>/dev/null | head -1)"; [ "$compat" = 1 ] && cat scripts/gotch/compat_libtorch113.h; } | sha256sum | cut -d' ' -f1)
archive="libsmoothl1_torch_api-${archive_hash:0:16}.a"
libgo=${libgo/@ARCHIVE@/$archive}
own_hash=$( { echo "$ver $inc ${cxxflags[*]} $(g++ --version 2>/dev/null | head -1)"; cat "${own_src[@]}"; } | sha256sum | cut -d' ' -f1)
own_archive="libsmoothl1_own-${own_hash:0:16}.a"
libgo=${libgo/@OWN_ARCHIVE@/$own_archive}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "gotch $GOTCH_VERSION already prepared for libtorch $ver ($dst)"
else
  say "preparing gotch $GOTCH_VERSION for CPU and libtorch $ver in $dst"
  mkdir -p "$deps"
  rm -rf "$dst.tmp"
  cp -r "$src" "$dst.tmp"
  chmod -R u+w "$dst.tmp"
  printf '%s' "$libgo" > "$dst.tmp/libtch/lib.go"
  # The project reads the version at run time (torchthread.LibtorchVersion).
  printf '// Code generated by scripts/setup.sh. DO NOT EDIT.\n\npackage libtch\n\n// LibtorchVersion is the libtorch this copy of gotch was prepared for.\nconst LibtorchVersion = "%s"\n' "$ver" > "$dst.tmp/libtch/smoothl1_version.go"
  if [ "$compat" = 1 ]; then
    cp scripts/gotch/compat_libtorch113.h "$dst.tmp/libtch/compat_libtorch113.h"
  fi
  bash scripts/gotch/patch_leaks.sh "$dst.tmp" | sed 's/^/setup: /'
  if [ -f "$dst/libtch/$archive" ]; then
    cp "$dst/libtch/$archive" "$dst.tmp/libtch/$archive"
  else
    command -v g++ >/dev/null || die "g++ is missing (apt-get install g++)"
    say "compiling gotch's C++ wrapper for libtorch $ver (2-5 minutes on 2 cores, once)"
    t0=$(date +%s)
    (
      cd "$dst.tmp/libtch"
      inc_compat=()
      [ "$compat" = 1 ] && inc_compat=(-include compat_libtorch113.h)
      g++ -c "${cxxflags[@]}" -I. "${inc_compat[@]}" torch_api.cpp -o torch_api.o
      ar rcs "$archive" torch_api.o
      rm torch_api.o
    ) || die "gotch's C++ wrapper does not compile against libtorch $ver at $inc; see the errors above"
    say "compiled in $(( $(date +%s) - t0 )) s"
  fi
  if [ -f "$dst/libtch/$own_archive" ]; then
    cp "$dst/libtch/$own_archive" "$dst.tmp/libtch/$own_archive"
  else
    command -v g++ >/dev/null || die "g++ is missing (apt-get install g++)"
    say "compiling the project's C++ (${own_src[*]})"
    (
      cd "$dst.tmp/libtch"
      objs=()
      for f in "${own_src[@]}"; do
        o="smoothl1_own_$(basename "$f" .cpp).o"
        g++ -c "${cxxflags[@]}" "$root/$f" -o "$o" || exit 1
        objs+=("$o")
      done
      ar rcs "$own_archive" "${objs[@]}" && rm "${objs[@]}"
    ) || die "the project's C++ (${own_src[*]}) does not compile against libtorch $ver at $inc; see the errors above"
  fi
  # cgo compiles every .cpp file of the package: the wrapper is linked from the archive.
  rm "$dst.tmp/libtch/torch_api.cpp"
  # Keep the old copy's timestamps out of it: replace in one step.
  rm -rf "$dst"
  mv "$dst.tmp" "$dst"
  echo "$want" > "$stamp"
fi

# ---- 3. go.work --------------------------------------------------------------------------
gowork=$(cat <<EOF
// Written by scripts/setup.sh: uses the local CPU copy of gotch. Not committed.
go $(awk '/^go /{print $2}' go.mod)

use .

replace github.com/sugarme/gotch $GOTCH_VERSION => ./.deps/gotch
EOF
)
if [ ! -f go.work ] || [ "$(cat go.work)" != "$gowork" ]; then
  printf '%s\n' "$gowork" > go.work
  say "wrote go.work"
fi

# ---- 4. distributed's c10d layer ---------------------------------------------------------
bash scripts/c10d.sh "$inc" "$lib" "$ver"

# ---- 5. check by building ----------------------------------------------------------------
start=$(date +%s)
say "building gotch"
go build github.com/sugarme/gotch/ts github.com/sugarme/gotch/nn || die "gotch does not build against libtorch $ver; see the errors above"
go build ./distributed || die "package distributed does not build against libtorch $ver; see the errors above"
say "ok: gotch $GOTCH_VERSION on libtorch $ver ($(( $(date +%s) - start )) s)"
