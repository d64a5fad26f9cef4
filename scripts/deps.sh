#!/usr/bin/env bash
# Installs the Debian packages vkio needs, and only those that are missing.
# Idempotent: a second run installs nothing and does not touch the network.
set -euo pipefail

pkgs=(
  # Vulkan: loader, Mesa's lavapipe (CPU Vulkan), the Khronos validation layer, vulkaninfo
  libvulkan1 mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  # shader toolchain: GLSL -> SPIR-V, and spirv-val/spirv-dis
  glslc spirv-tools
  # Vulkan headers: gpu/internal/vkx's C shims and the C reference (bench/cref)
  libvulkan-dev
  # cgo
  gcc libc6-dev pkg-config
  # `vkdemo window` (package window, GLFW): X11 headers GLFW's cgo compiles
  # against, Xvfb to run windows headless, xwd and ImageMagick for screenshots
  libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev
  libgl1-mesa-dev libxxf86vm-dev
  xvfb x11-apps imagemagick
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
