/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tiny test guest: the PVH entry (32-bit protected mode, flat segments,
 * paging off, EBX = hvm_start_info) and the switch to long mode, then C.
 * Also the real-mode trampoline application processors start in after SIPI.
 */
#define PVH_NOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 4               /* name size: "Xen\0" */
	.long 4               /* desc size */
	.long PVH_NOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.long pvh_start
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov %ebx, %esi                 /* hvm_start_info, kept for C */
	mov $boot_stack_top, %esp

	/* Page tables: PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages = 0-4 GiB identity. */
	mov $pml4, %edi
	mov $pdpt, %eax
	or $0x3, %eax
	mov %eax, (%edi)
	mov $pdpt, %edi
	mov $pd, %eax
	or $0x3, %eax
	mov $4, %ecx
1:	mov %eax, (%edi)
	add $0x1000, %eax
	add $8, %edi
	loop 1b
	mov $pd, %edi
	xor %eax, %eax
	mov $2048, %ecx
2:	mov %eax, %edx
	or $0x83, %edx                 /* present, writable, 2 MiB */
	cmp $0xc0000000, %eax
	jb 3f
	or $0x18, %edx                 /* PCD|PWT above 3 GiB: MMIO, the LAPIC */
3:	mov %edx, (%edi)
	movl $0, 4(%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 2b

	mov %cr4, %eax
	or $0x20, %eax                 /* PAE */
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx          /* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax           /* PG | PE */
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $long_mode

	.code64
long_mode:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	mov %esi, %edi                 /* first argument: start_info */
	call tiny_main
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff       /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff       /* 0x10: data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

/*
 * AP trampoline, copied to 0x8000 (SIPI vector 0x08). Real mode: count
 * ourselves in at 0x8ff0 and halt for good.
 */
	.globl ap_tramp_start, ap_tramp_end
	.code16
ap_tramp_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	lock incl 0x8ff0
5:	hlt
	jmp 5b
ap_tramp_end:

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.balign 16
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
