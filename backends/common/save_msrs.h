/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The architectural MSRs a guest's OS programs and expects back after a
 * restore, which every backend's vCPU state blob saves: an initializer list,
 * so each backend's table is sized at compile time and a backend appends
 * the MSRs of its own hypervisor after it (KVM's paravirtual clock, ...).
 */
#ifndef HVABS_BACKEND_SAVE_MSRS_H
#define HVABS_BACKEND_SAVE_MSRS_H

/*
 * In this order (Intel SDM vol. 4 table 2-2; MTRRs per vol. 3A 12.11):
 * IA32_TIME_STAMP_COUNTER; IA32_SYSENTER_CS, _ESP, _EIP; IA32_MISC_ENABLE;
 * IA32_PAT; IA32_MTRR_DEF_TYPE; the 16 variable-range MTRR MSRs; the fixed
 * MTRRs (64K, 2 x 16K, 8 x 4K); STAR, LSTAR, CSTAR, SFMASK; KERNEL_GS_BASE;
 * TSC_AUX.
 */
#define SAVE_MSRS_ARCH                                                                             \
	0x10, 0x174, 0x175, 0x176, 0x1a0, 0x277, 0x2ff, 0x200, 0x201, 0x202, 0x203, 0x204, 0x205,  \
	    0x206, 0x207, 0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f, 0x250, 0x258,    \
	    0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f, 0xc0000081, 0xc0000082, \
	    0xc0000083, 0xc0000084, 0xc0000102, 0xc0000103

#endif
