#!/usr/bin/env bash
# Builds the golden disk of the overlay QEMU test (test_overlay_qemu.sh): a 16 MiB raw image whose boot sector
# (nasm) prints "DISKLESS-MARKER-BOOT" to COM1, then through INT 13h extended reads/writes (the
# path iPXE's sanboot hooks):
#   reads the marker sector (LBA 8000) and prints its first 16 bytes as "OLD=<16 chars>;"
#   makes a marker unique to this PC and boot (16 hex digits: the RTC time as BCD hhmmss, then
#   the low 32 bits of the time-stamp counter),
#   prints "NEW=<marker>;", writes it to the marker sector (AH=43h), clears the buffer, reads the
#   sector back and prints "BACK=<16 chars>;"
# and ends QEMU through isa-debug-exit (iobase 0xf4): 0x10 → exit status 33; 0x01 → 3 on a disk
# error. The golden marker sector holds "GOLDENMARKER0000"; OUT.expect gets that string.
# Usage: marker_disk.sh OUT
set -euo pipefail
out=${1:?usage: marker_disk.sh OUT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lba=8000
golden=GOLDENMARKER0000
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
  cld
  mov [drive], dl
  mov si, msg_boot
  call puts
  ; the marker sector as this PC finds it
  mov word [dap_buf], 0x8000
  mov ah, 0x42
  call disk_io
  mov si, msg_old
  mov bx, 0x8000
  call show16
  ; a new marker: 512-byte sector at 0x9000, the TSC in hex, zeros after it
  mov di, 0x9000
  mov cx, 512
  xor al, al
  rep stosb
  mov ah, 0x02  ; RTC time: ch = hours, cl = minutes, dh = seconds (BCD)
  int 0x1a
  xor ebx, ebx
  mov bl, ch
  shl ebx, 8
  mov bl, cl
  shl ebx, 8
  mov bl, dh
  mov di, 0x9000
  call hex32
  rdtsc
  mov ebx, eax
  call hex32
  mov si, msg_new
  mov bx, 0x9000
  call show16
  mov word [dap_buf], 0x9000
  mov ax, 0x4300
  call disk_io
  ; read it back into a cleared buffer
  mov di, 0x8000
  mov cx, 512
  xor al, al
  rep stosb
  mov word [dap_buf], 0x8000
  mov ah, 0x42
  call disk_io
  mov si, msg_back
  mov bx, 0x8000
  call show16
  mov si, msg_end
  call puts
  mov al, 0x10
  out 0xf4, al
halt:
  hlt
  jmp halt

; INT 13h extended call AH (42h read, 43h write) on the DAP; a failure ends QEMU with status 3.
disk_io:
  mov si, dap
  mov dl, [drive]
  int 0x13
  jc disk_error
  ret

disk_error:
  mov si, msg_err
  call puts
  mov al, 0x01
  out 0xf4, al
  jmp halt

; Appends the 8 hex digits of ebx at es:di.
hex32:
  mov cx, 8
.digit:
  rol ebx, 4
  mov al, bl
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .store
  add al, 'a' - '0' - 10
.store:
  stosb
  loop .digit
  ret

; Prints the label at si, the 16 bytes at bx, then ";".
show16:
  call puts
  mov si, bx
  mov cx, 16
.byte:
  lodsb
  call putc
  loop .byte
  mov al, ';'
  call putc
  ret

%include "serial.asm"

msg_boot: db 13, 10, "DISKLESS-MARKER-BOOT", 13, 10, 0
msg_old: db "OLD=", 0
msg_new: db 13, 10, "NEW=", 0
msg_back: db 13, 10, "BACK=", 0
msg_end: db 13, 10, "DISKLESS-MARKER-DONE", 13, 10, 0
msg_err: db 13, 10, "DISKLESS-MARKER-DISK-ERROR", 13, 10, 0
drive: db 0x80
align 4
dap:
  db 16, 0
  dw 1
dap_buf:
  dw 0x8000, 0
  dd $lba, 0
times 510 - (\$ - \$\$) db 0
dw 0xaa55
ASM
nasm -f bin -I "$(dirname "$0")/" -o "$work/boot.bin" "$work/boot.asm"
truncate -s 16M "$out"
dd if="$work/boot.bin" of="$out" conv=notrunc status=none
printf '%s' "$golden" | dd of="$out" bs=512 seek="$lba" conv=notrunc status=none
echo "$golden" > "$out.expect"
