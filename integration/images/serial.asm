; COM1 output for the test disks' boot sectors (bios_disk.sh, marker_disk.sh; %include'd).
; puts: prints the zero-terminated string at ds:si. putc: prints al (waits for THR empty).

puts:
  lodsb
  test al, al
  jz .done
  call putc
  jmp puts
.done:
  ret

putc:
  push dx
  push ax
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  pop ax
  mov dx, 0x3f8
  out dx, al
  pop dx
  ret
