#!/usr/bin/env bash
# Builds the 64 MiB UEFI test disk: GPT, an EFI system partition (FAT, 32 MiB at LBA 2048) whose
# \EFI\BOOT\BOOTX64.EFI is a standalone GRUB (grub-efi-amd64-bin) with an embedded config that
# prints "DISKLESS-UEFI-BOOT" on the serial port, hashes the sectors at LBA 70000 and LBA 130000
# of the boot disk (hd0, outside the ESP) with sha256sum, prints "DISKLESS-UEFI-DONE" and ends
# QEMU through isa-debug-exit (0x10 → exit status 33). The two sectors hold random data;
# OUT.expect gets their sha256 sums, one per line, as the disk must print them.
# Usage: uefi_disk.sh OUT
set -euo pipefail
out=${1:?usage: uefi_disk.sh OUT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lba_a=70000
lba_b=130000
cat > "$work/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_output serial
echo DISKLESS-UEFI-BOOT
sha256sum (hd0)$lba_a+1
sha256sum (hd0)$lba_b+1
echo DISKLESS-UEFI-DONE
outb 0xf4 0x10
CFG
grub-mkstandalone -O x86_64-efi --modules="part_gpt fat hashsum iorw serial echo" \
  --locales= --themes= --fonts= -o "$work/BOOTX64.EFI" "boot/grub/grub.cfg=$work/grub.cfg"
truncate -s 64M "$out"
printf 'label: gpt\nstart=2048, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"\n' |
  sfdisk -q "$out"
mkfs.vfat -C "$work/esp.img" 32768 >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
dd if="$work/esp.img" of="$out" bs=512 seek=2048 conv=notrunc status=none
: > "$out.expect"
for lba in $lba_a $lba_b; do
  head -c 512 /dev/urandom | dd of="$out" bs=512 seek="$lba" conv=notrunc status=none
  dd if="$out" bs=512 skip="$lba" count=1 status=none | sha256sum | awk '{print $1}' >> "$out.expect"
done
