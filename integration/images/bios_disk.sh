#!/usr/bin/env bash
# Builds the 64 MiB BIOS test disk: its boot sector (nasm) prints "DISKLESS-BIOS-BOOT" to COM1,
# reads the sectors at LBA 2048 and LBA 129000 through INT 13h extended reads (AH=42h, the path
# iPXE's sanboot hooks), prints "SUM-A=xxxx SUM-B=xxxx" (16-bit byte sums) and ends QEMU through
# isa-debug-exit (iobase 0xf4): value 0x10 → QEMU exit status 33 on success, 0x01 → 3 on a
# read error. The two sectors hold random data; OUT.expect gets the line the disk must print.
# Usage: bios_disk.sh OUT
set -euo pipefail
out=${1:?usage: bios_disk.sh OUT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lba_a=2048
lba_b=129000
cat > "$work/boot.asm" <<ASM
bits 16
org 0x7c00
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov [drive], dl
  mov si, msg_boot
  call puts
  mov si, msg_a
  call puts
  mov dword [dap_lba], $lba_a
  call read_sum
  mov si, msg_b
  call puts
  mov dword [dap_lba], $lba_b
  call read_sum
  mov si, msg_end
  call puts
  mov al, 0x10
  out 0xf4, al
halt:
  hlt
  jmp halt

; Reads the sector at [dap_lba] to 0x8000 and prints the 16-bit sum of its bytes in hex.
read_sum:
  mov si, dap
  mov ah, 0x42
  mov dl, [drive]
  int 0x13
  jc read_error
  xor bx, bx
  mov si, 0x8000
  mov cx, 512
.sum:
  xor ax, ax
  lodsb
  add bx, ax
  loop .sum
  mov cx, 4
.hex:
  rol bx, 4
  mov al, bl
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .digit
  add al, 'a' - '0' - 10
.digit:
  call putc
  loop .hex
  ret

read_error:
  mov si, msg_err
  call puts
  mov al, 0x01
  out 0xf4, al
  jmp halt

%include "serial.asm"

msg_boot: db 13, 10, "DISKLESS-BIOS-BOOT", 13, 10, 0
msg_a: db "SUM-A=", 0
msg_b: db " SUM-B=", 0
msg_end: db 13, 10, "DISKLESS-BIOS-DONE", 13, 10, 0
msg_err: db 13, 10, "DISKLESS-BIOS-READ-ERROR", 13, 10, 0
drive: db 0x80
align 4
dap:
  db 16, 0
  dw 1
  dw 0x8000, 0
dap_lba:
  dd 0, 0
times 510 - (\$ - \$\$) db 0
dw 0xaa55
ASM
nasm -f bin -I "$(dirname "$0")/" -o "$work/boot.bin" "$work/boot.asm"
truncate -s 64M "$out"
dd if="$work/boot.bin" of="$out" conv=notrunc status=none
for lba in $lba_a $lba_b; do
  head -c 512 /dev/urandom | dd of="$out" bs=512 seek="$lba" conv=notrunc status=none
done
sum() { dd if="$out" bs=512 skip="$1" count=1 status=none | od -An -v -tu1 |
        awk '{for (i = 1; i <= NF; i++) s += $i} END {printf "%04x", s % 65536}'; }
echo "SUM-A=$(sum $lba_a) SUM-B=$(sum $lba_b)" > "$out.expect"
