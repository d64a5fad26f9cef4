#!/usr/bin/env bash
# gpu-remote.sh pack | run
#
# Runs vkio's Vulkan tests and GPU benchmarks on a machine that has a GPU but
# no Go toolchain and no network (such as the device machine some sessions
# are lent). Two halves:
#
#   bash scripts/gpu-remote.sh pack   here: downloads the Vulkan loader, the
#                                     Khronos validation layer and the GL
#                                     vendor libraries NVIDIA's ICD needs as
#                                     .debs into .gl/, and builds every test
#                                     binary (-race), gpubench, vkdemo and
#                                     cref into .dev/bin.tar.xz (~15 MiB)
#   bash scripts/gpu-remote.sh run    there, from the repository root, with
#                                     .gl and .dev carried: unpacks them,
#                                     lists the devices, runs bench-gpu.sh
#                                     (RUNS, default 9), the floor benchmarks,
#                                     the demo and its bench, and the tests of
#                                     gpu, gpu/internal/vkx, shaders, tasks
#                                     and cmd/vkdemo with validation on;
#                                     summaries go to stdout, details to $OUT;
#                                     exits 1 if a test package failed. Its
#                                     steps' timeouts add up to under 600 s
#                                     (the device tool's limit per command);
#                                     a whole run took about 100 s on an H200
#
# Tests that need glslc or an X server skip there, saying so. Measured with
# it on an NVIDIA H200: bench/cref/README.md.
set -u
cd "$(dirname "$0")/.."

pack() {
	set -e
	local exclude debs=(libvulkan1 vulkan-validationlayers libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
	exclude=$(git rev-parse --git-path info/exclude)
	mkdir -p "$(dirname "$exclude")"
	grep -qx '/.gl/' "$exclude" 2>/dev/null || echo /.gl/ >>"$exclude"
	grep -qx '/.dev/' "$exclude" 2>/dev/null || echo /.dev/ >>"$exclude"
	mkdir -p .gl .dev /tmp/amd64/partial
	local d missing=()
	for d in "${debs[@]}"; do
		compgen -G ".gl/${d}_*.deb" >/dev/null || missing+=("$d")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
		apt-get $o update >/dev/null
		(cd .gl && apt-get $o download "${missing[@]}")
	fi
	local b
	b=$(mktemp -d)
	mkdir "$b/bin"
	local p
	for p in gpu gpu/internal/vkx shaders tasks cmd/vkdemo; do
		go test -c -race -ldflags='-s -w' -o "$b/bin/$(echo $p | tr / _).test" ./$p
	done
	go test -c -ldflags='-s -w' -o "$b/bin/gpu_bench.test" ./gpu
	go build -ldflags='-s -w' -o "$b/bin/gpubench" ./gpu/internal/gpubench
	go build -ldflags='-s -w' -o "$b/bin/vkdemo" ./cmd/vkdemo
	go build -race -ldflags='-s -w' -o "$b/bin/vkdemo_race" ./cmd/vkdemo
	gcc -O2 -Wall -Wextra -std=c11 -o "$b/bin/cref" bench/cref/cref.c -lvulkan
	tar -C "$b" -cJf .dev/bin.tar.xz bin
	rm -rf "$b"
	du -sh .gl .dev
}

run() {
	: "${OUT:=/tmp/gpu-remote-out}"
	mkdir -p "$OUT"
	local t0 B=/tmp/bin
	t0=$(date +%s)
	el() { echo "[$(($(date +%s) - t0))s] $*"; }
	for f in .gl/*.deb; do dpkg -x "$f" /; done
	ldconfig
	tar -C /tmp -xJf .dev/bin.tar.xz
	export XDG_RUNTIME_DIR=/tmp/xdg
	mkdir -p -m 700 $XDG_RUNTIME_DIR
	nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
	# The NVIDIA ICD may be listed only under the driver's own folder.
	if ! compgen -G '/usr/share/vulkan/icd.d/*nvidia*' >/dev/null && ! compgen -G '/etc/vulkan/icd.d/*nvidia*' >/dev/null &&
		[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
		export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
	fi
	el devices
	VKIO_VALIDATION=1 timeout 20 $B/vkdemo devices 2>&1 | tee "$OUT/devices.txt"

	el bench-gpu
	VKIO_VALIDATION=0 RUNS=${RUNS:-9} timeout 120 bash scripts/bench-gpu.sh $B/gpubench $B/cref >"$OUT/bench-gpu.txt" 2>&1
	cat "$OUT/bench-gpu.txt"
	el floor
	(cd gpu && VKIO_VALIDATION=0 timeout 40 taskset -c 0 $B/gpu_bench.test -test.run '^$' -test.bench 'W1|W2' \
		-test.benchtime 2000x -test.count 3 2>&1 | grep -E '^Benchmark|ok|FAIL') | tee -a "$OUT/bench-gpu.txt"
	el demo
	VKIO_VALIDATION=0 timeout 30 $B/vkdemo pipeline --out /tmp/demo 2>&1 | tail -8
	VKIO_VALIDATION=0 timeout 40 $B/vkdemo bench --runs 3 --frames 48 --out /tmp/bench 2>&1 | tee "$OUT/vkdemo-bench.txt" | tail -6
	cp /tmp/bench/bench-timeline.svg "$OUT/" 2>/dev/null

	export VKIO_VALIDATION=1
	: >"$OUT/tests.txt"
	local failed=0
	t() { # package-dir binary timeout-seconds
		el "test $1"
		(cd "$1" && timeout "$3" $B/"$2" -test.count=1 -test.v -test.timeout $(($3 - 5))s >/tmp/t.txt 2>&1; echo "rc=$?" >>/tmp/t.txt)
		{
			echo "===== $1"
			grep -a -E '^(--- (FAIL|SKIP)|FAIL|ok|PASS|panic|rc=)' /tmp/t.txt | head -60
		} | tee -a "$OUT/tests.txt"
		if ! grep -q '^rc=0' /tmp/t.txt; then
			failed=1
			{ echo "===== full $1"; cat /tmp/t.txt; } >>"$OUT/tests-fail.txt"
		fi
	}
	t gpu gpu.test 90
	t gpu/internal/vkx gpu_internal_vkx.test 40
	t shaders shaders.test 30
	t tasks tasks.test 60
	VKDEMO_TEST_BIN=$B/vkdemo_race t cmd/vkdemo cmd_vkdemo.test 120
	el done
	return $failed
}

case "${1:-}" in
pack) pack ;;
run) run ;;
*)
	echo "usage: $0 pack | run" >&2
	exit 2
	;;
esac
