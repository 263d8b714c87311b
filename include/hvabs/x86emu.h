/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file x86emu.h
 * @brief A small x86 instruction emulator for the accesses guests make to MMIO.
 *
 * Some hypervisors report an access to unmapped guest-physical memory with
 * the instruction bytes rather than a decoded access (Microsoft Hypervisor's
 * "unmapped GPA" intercept). hvabs_x86emu_run() decodes such an instruction
 * and executes it against the caller's registers and memory, through a table
 * of callbacks (struct hvabs_x86emu_ops). It works on linear addresses: the
 * emulator computes segment base + effective address with the address-size
 * wrap of the mode, and the caller decides what a linear address is (its
 * page walk, then RAM or an MMIO device). The result says which accesses
 * were performed so that a backend that has a decoded access of its own (KVM)
 * can cross-check address, size, direction and data.
 *
 * Supported instructions (16-, 32- and 64-bit modes, with the 66, 67, REX,
 * F2/F3, segment-override and LOCK prefixes where the architecture allows
 * them):
 * - MOV 88/89/8A/8B, C6/C7 /0, moffs A0-A3; MOVZX and MOVSX 0F B6/B7/BE/BF;
 *   MOVSXD 63 (64-bit mode);
 * - ADD, OR, ADC, SBB, AND, SUB, XOR, CMP in their 00-3D forms and the
 *   80/81/82/83 group; TEST 84/85, A8/A9, F6/F7 /0 (and its alias /1);
 *   XCHG 86/87;
 * - MOVS, CMPS, STOS, LODS, SCAS (A4-AF) with REP/REPE/REPNE, honouring DF.
 *
 * CF, PF, AF, ZF, SF and OF are computed exactly (AF is cleared by the
 * logical operations, as the processors this runs on do).
 *
 * Not modelled: segment limits and access rights (guests that reach MMIO
 * use flat segments), alignment checks, and the atomicity of LOCK and XCHG:
 * a locked read-modify-write is a read_gva() followed by a write_gva(), and
 * a caller that needs it atomic on RAM must serialise the vCPUs itself.
 *
 * The emulator holds no state and allocates nothing; it may run on any
 * number of threads at once. It uses no other part of libhvabs, so a backend
 * plugin may compile it in.
 *
 * @defgroup x86emu x86 instruction emulator
 * @brief Decode and execute the instruction behind an MMIO access.
 * @{
 */
#ifndef HVABS_X86EMU_H
#define HVABS_X86EMU_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The longest legal x86 instruction, in bytes. */
#define HVABS_X86EMU_MAX_INSN 15

/**
 * Returned when the instruction bytes end before the instruction does and
 * no hvabs_x86emu_ops::fetch can supply the rest.
 */
#define HVABS_X86EMU_ETRUNCATED (-ENODATA)

/** Default for hvabs_x86emu_ops::max_reps. */
#define HVABS_X86EMU_DEFAULT_MAX_REPS 4096u

/** Processor modes, named by their default address size. */
enum hvabs_x86emu_mode {
	HVABS_X86EMU_MODE_16 = 16, /**< Real, virtual-8086 or 16-bit protected mode. */
	HVABS_X86EMU_MODE_32 = 32, /**< 32-bit protected mode or compatibility mode. */
	HVABS_X86EMU_MODE_64 = 64, /**< 64-bit (long) mode. */
};

/** The instructions the emulator knows. */
enum hvabs_x86emu_mnemonic {
	HVABS_X86EMU_INVALID = 0,    /**< Not an instruction (never in a decoded insn). */
	HVABS_X86EMU_MOV,	     /**< MOV. */
	HVABS_X86EMU_MOVZX,	     /**< MOVZX: zero-extending load. */
	HVABS_X86EMU_MOVSX,	     /**< MOVSX: sign-extending load. */
	HVABS_X86EMU_MOVSXD,	     /**< MOVSXD: sign-extending load of 32 bits (64-bit mode). */
	HVABS_X86EMU_XCHG,	     /**< XCHG. */
	HVABS_X86EMU_ADD,	     /**< ADD. */
	HVABS_X86EMU_OR,	     /**< OR. */
	HVABS_X86EMU_ADC,	     /**< ADC. */
	HVABS_X86EMU_SBB,	     /**< SBB. */
	HVABS_X86EMU_AND,	     /**< AND. */
	HVABS_X86EMU_SUB,	     /**< SUB. */
	HVABS_X86EMU_XOR,	     /**< XOR. */
	HVABS_X86EMU_CMP,	     /**< CMP. */
	HVABS_X86EMU_TEST,	     /**< TEST. */
	HVABS_X86EMU_MOVS,	     /**< MOVS: memory to memory string move. */
	HVABS_X86EMU_CMPS,	     /**< CMPS: string compare. */
	HVABS_X86EMU_STOS,	     /**< STOS: string store from rAX. */
	HVABS_X86EMU_LODS,	     /**< LODS: string load into rAX. */
	HVABS_X86EMU_SCAS,	     /**< SCAS: string compare with rAX. */
	HVABS_X86EMU_MNEMONIC_COUNT, /**< Number of values (not an instruction). */
};

/**
 * Register numbers in decoded instructions. 0-15 follow the x86 encoding
 * (with REX.R/X/B as bit 3); the legacy high-byte registers and RIP follow.
 */
enum hvabs_x86emu_reg {
	HVABS_X86EMU_RAX = 0,	   /**< RAX (also EAX, AX, AL). */
	HVABS_X86EMU_RCX = 1,	   /**< RCX. */
	HVABS_X86EMU_RDX = 2,	   /**< RDX. */
	HVABS_X86EMU_RBX = 3,	   /**< RBX. */
	HVABS_X86EMU_RSP = 4,	   /**< RSP (SPL as a byte register with a REX prefix). */
	HVABS_X86EMU_RBP = 5,	   /**< RBP (BPL likewise). */
	HVABS_X86EMU_RSI = 6,	   /**< RSI (SIL likewise). */
	HVABS_X86EMU_RDI = 7,	   /**< RDI (DIL likewise). */
	HVABS_X86EMU_R8 = 8,	   /**< R8. */
	HVABS_X86EMU_R9 = 9,	   /**< R9. */
	HVABS_X86EMU_R10 = 10,	   /**< R10. */
	HVABS_X86EMU_R11 = 11,	   /**< R11. */
	HVABS_X86EMU_R12 = 12,	   /**< R12. */
	HVABS_X86EMU_R13 = 13,	   /**< R13. */
	HVABS_X86EMU_R14 = 14,	   /**< R14. */
	HVABS_X86EMU_R15 = 15,	   /**< R15. */
	HVABS_X86EMU_AH = 16,	   /**< AH: bits 8-15 of RAX (byte operand, no REX prefix). */
	HVABS_X86EMU_CH = 17,	   /**< CH: bits 8-15 of RCX. */
	HVABS_X86EMU_DH = 18,	   /**< DH: bits 8-15 of RDX. */
	HVABS_X86EMU_BH = 19,	   /**< BH: bits 8-15 of RBX. */
	HVABS_X86EMU_RIP = 20,	   /**< RIP, as the base of a RIP-relative address. */
	HVABS_X86EMU_NOREG = 0xff, /**< No register. */
};

/** Segment registers, in their encoding order. */
enum hvabs_x86emu_seg {
	HVABS_X86EMU_ES = 0, /**< ES. */
	HVABS_X86EMU_CS = 1, /**< CS. */
	HVABS_X86EMU_SS = 2, /**< SS. */
	HVABS_X86EMU_DS = 3, /**< DS. */
	HVABS_X86EMU_FS = 4, /**< FS. */
	HVABS_X86EMU_GS = 5, /**< GS. */
};

/** @name Prefixes seen (hvabs_x86emu_insn::prefixes)
 * @{ */
#define HVABS_X86EMU_PFX_LOCK	  (1u << 0) /**< F0 LOCK. */
#define HVABS_X86EMU_PFX_REP	  (1u << 1) /**< F3 REP/REPE (the last of F2/F3 wins). */
#define HVABS_X86EMU_PFX_REPNE	  (1u << 2) /**< F2 REPNE (the last of F2/F3 wins). */
#define HVABS_X86EMU_PFX_OPSIZE	  (1u << 3) /**< 66 operand-size override. */
#define HVABS_X86EMU_PFX_ADDRSIZE (1u << 4) /**< 67 address-size override. */
#define HVABS_X86EMU_PFX_SEG	  (1u << 5) /**< A segment override (see hvabs_x86emu_insn::seg). */
#define HVABS_X86EMU_PFX_REX	  (1u << 6) /**< A REX prefix in effect (see hvabs_x86emu_insn::rex). */
/** @} */

/** @name Memory operand directions (hvabs_x86emu_insn::mem_dir)
 * @{ */
#define HVABS_X86EMU_MEM_READ  (1u << 0) /**< The instruction reads its memory operand. */
#define HVABS_X86EMU_MEM_WRITE (1u << 1) /**< The instruction writes its memory operand. */
/** @} */

/**
 * A decoded instruction.
 *
 * The memory operand is `seg`:[`base` + `index` * `scale` + `disp`]. For
 * string instructions it is the one at rSI (or, for STOS and SCAS, at
 * ES:rDI); MOVS and CMPS have a second one at ES:rDI.
 */
struct hvabs_x86emu_insn {
	uint8_t length;	   /**< Length in bytes, prefixes included (1-15). */
	uint8_t mode;	   /**< The enum hvabs_x86emu_mode it was decoded for. */
	uint8_t op_size;   /**< Operation size in bytes: 1, 2, 4 or 8. */
	uint8_t addr_size; /**< Address size in bytes: 2, 4 or 8. */
	uint16_t opcode;   /**< The opcode byte; 0x0Fxx for two-byte opcodes. */
	uint16_t mnemonic; /**< An enum hvabs_x86emu_mnemonic value. */
	uint32_t prefixes; /**< HVABS_X86EMU_PFX_* bits. */
	uint8_t rex;	   /**< The REX byte in effect, or 0. */
	uint8_t seg;	   /**< Segment (enum hvabs_x86emu_seg) of the memory operand. */
	uint8_t modrm;	   /**< The ModRM byte, when `has_modrm`. */
	uint8_t sib;	   /**< The SIB byte, when `has_sib`. */
	uint8_t has_modrm; /**< 1 when the instruction has a ModRM byte. */
	uint8_t has_sib;   /**< 1 when the instruction has a SIB byte. */
	uint8_t reg;	   /**< Register operand (enum hvabs_x86emu_reg), or NOREG. */
	uint8_t rm_reg;	   /**< Register in the r/m position when it is not memory, or NOREG. */
	uint8_t mem_size;  /**< Bytes of the memory operand, 0 when there is none. */
	uint8_t mem_dir;   /**< HVABS_X86EMU_MEM_* bits for the memory operand. */
	uint8_t base;	   /**< Base register of the memory operand, RIP, or NOREG. */
	uint8_t index;	   /**< Index register of the memory operand, or NOREG. */
	uint8_t scale;	   /**< Scale of the index: 1, 2, 4 or 8. */
	uint8_t imm_size;  /**< Bytes of immediate in the encoding, 0 when none. */
	uint8_t pad[2];	   /**< Reserved, zero. */
	int64_t disp;	   /**< Displacement (sign-extended), or the moffs of A0-A3. */
	uint64_t imm;	   /**< Immediate, sign- or zero-extended to `op_size` as used. */
};

/** One stream of memory accesses an emulated instruction performed. */
struct hvabs_x86emu_access {
	uint64_t gva;	   /**< Linear address of the first element. */
	uint64_t gpa;	   /**< Guest-physical address of the first element, if `gpa_valid`. */
	uint32_t size;	   /**< Bytes per element: 1, 2, 4 or 8. */
	uint32_t count;	   /**< Elements performed (more than 1 only for REP strings). */
	uint8_t is_write;  /**< 1 for a write, 0 for a read. */
	uint8_t df;	   /**< 1 when the elements descend (string op with DF set). */
	uint8_t gpa_valid; /**< 1 when hvabs_x86emu_ops::translate_gva supplied `gpa`. */
	uint8_t pad[5];	   /**< Reserved, zero. */
	uint8_t data[8];   /**< The first element's data, little-endian, `size` bytes used. */
};

/** Most access streams one instruction performs (read-modify-write, MOVS, CMPS). */
#define HVABS_X86EMU_MAX_ACCESSES 2

/**
 * hvabs_x86emu_result::flags: a REP string instruction stopped early (at
 * hvabs_x86emu_ops::max_reps elements, or because an element failed after
 * others had been done). Registers say how far it got and RIP still points
 * at it, as after an interrupt in the middle of a REP string instruction;
 * running the guest again continues it.
 */
#define HVABS_X86EMU_RES_INCOMPLETE (1u << 0)

/** What hvabs_x86emu_run() did. */
struct hvabs_x86emu_result {
	struct hvabs_x86emu_insn insn; /**< The instruction. */
	uint32_t flags;		       /**< HVABS_X86EMU_RES_* bits. */
	uint32_t naccesses;	       /**< Valid entries of `access`. */
	/** The access streams, in the order the first element of each was performed. */
	struct hvabs_x86emu_access access[HVABS_X86EMU_MAX_ACCESSES];
};

/**
 * How the emulator reaches the vCPU and guest memory. Every callback returns
 * 0 or a negative errno; an error stops the emulation and is returned as is
 * (callbacks should not use -ENODATA, which means "truncated"). Data is
 * little-endian. Callbacks run on the thread calling hvabs_x86emu_run().
 */
struct hvabs_x86emu_ops {
	struct hvabs_hdr hdr; /**< HVABS_HDR_INIT(struct hvabs_x86emu_ops). */
	void *opaque;	      /**< First argument of every callback. */
	/** Most elements of a REP string instruction per run; 0 means the default. */
	uint32_t max_reps;
	uint32_t pad; /**< Reserved, zero. */
	/**
	 * Required: reads the general-purpose registers, RIP and RFLAGS.
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param regs filled on success.
	 */
	int (*get_regs)(void *opaque, struct hvabs_regs *regs);
	/**
	 * Required: writes the registers back, once, after the instruction
	 * completed (or a REP string stopped early). Never called on error.
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param regs the new register state.
	 */
	int (*set_regs)(void *opaque, const struct hvabs_regs *regs);
	/**
	 * Required: reads the segment and control registers (CS for the mode,
	 * segment bases, CR0, CR4, EFER).
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param sregs filled on success.
	 */
	int (*get_sregs)(void *opaque, struct hvabs_sregs *sregs);
	/**
	 * Optional: reads instruction bytes when the caller's bytes end too
	 * soon. Must fill all @p len bytes or fail. Never asked to cross more
	 * than one 4 KiB page boundary per call.
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param linear linear address of the first byte.
	 * @param buf where the bytes go.
	 * @param len how many bytes (1-15).
	 */
	int (*fetch)(void *opaque, uint64_t linear, void *buf, uint32_t len);
	/**
	 * Required: reads data memory (RAM or MMIO, the caller decides).
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param linear linear address.
	 * @param buf where the data goes.
	 * @param size 1, 2, 4 or 8.
	 */
	int (*read_gva)(void *opaque, uint64_t linear, void *buf, uint32_t size);
	/**
	 * Required: writes data memory (RAM or MMIO, the caller decides).
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param linear linear address.
	 * @param buf the data.
	 * @param size 1, 2, 4 or 8.
	 */
	int (*write_gva)(void *opaque, uint64_t linear, const void *buf, uint32_t size);
	/**
	 * Optional: the caller's page walk, called before the first element of
	 * each access stream to report its guest-physical address (and to stop
	 * before any access when the walk fails).
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param linear linear address.
	 * @param is_write 1 for a write access.
	 * @param gpa the guest-physical address, on success.
	 */
	int (*translate_gva)(void *opaque, uint64_t linear, int is_write, uint64_t *gpa);
	/**
	 * Optional: receives one line for every refused instruction (invalid,
	 * unsupported, truncated) naming the reason and the bytes. A guest can
	 * provoke these at will: the callback must rate-limit, e.g. with
	 * hvabs_log_ratelimited().
	 * @param opaque hvabs_x86emu_ops::opaque.
	 * @param level severity.
	 * @param msg the message, without a trailing newline.
	 */
	void (*log)(void *opaque, enum hvabs_log_level level, const char *msg);
};

/**
 * Works out the processor mode from the segment and control registers.
 * Thread: any.
 * @param sregs the vCPU's segment and control registers.
 * @param rflags the vCPU's RFLAGS (for virtual-8086 mode).
 * @param mode the mode, on success.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, or CS.L and CS.D both set in long mode.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_x86emu_mode_get(const struct hvabs_sregs *sregs,
						     uint64_t rflags, enum hvabs_x86emu_mode *mode);

/**
 * Decodes one instruction without executing it. Never reads @p bytes past
 * @p len nor past #HVABS_X86EMU_MAX_INSN. Thread: any.
 * @param mode the processor mode.
 * @param bytes the instruction bytes.
 * @param len how many bytes are available.
 * @param insn the instruction, on success.
 * @return 0 or negative errno.
 * @retval -EINVAL an invalid encoding (one the processor would refuse with
 *         \#UD or \#GP: LOCK where it is not allowed, more than 15 bytes,
 *         opcode 82 in 64-bit mode, a reserved ModRM.reg), or a bad argument.
 * @retval -ENOTSUP an instruction outside the supported set (opcodes the
 *         emulator does not decode are reported so, valid or not).
 * @retval HVABS_X86EMU_ETRUNCATED the bytes end before the instruction does.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_x86emu_decode(enum hvabs_x86emu_mode mode, const void *bytes,
						   size_t len, struct hvabs_x86emu_insn *insn);

/**
 * Emulates the instruction at the vCPU's RIP: decodes it from @p bytes
 * (fetching the rest through hvabs_x86emu_ops::fetch when they end too soon),
 * performs its memory accesses through the ops, updates registers and flags
 * and advances RIP past it.
 *
 * Registers are written with one hvabs_x86emu_ops::set_regs call at the end,
 * never on error: a failed instruction leaves them as they were. Memory
 * accesses done before a failure (the read of a read-modify-write whose write
 * then failed) are not undone. A REP string instruction whose element fails
 * after earlier elements succeeded stops there and reports success with
 * #HVABS_X86EMU_RES_INCOMPLETE, so the failing element is retried, and
 * refused cleanly, when the guest runs it again.
 *
 * Thread: the caller's; the ops run on it.
 * @param ops the vCPU and memory callbacks.
 * @param bytes instruction bytes starting at RIP, or NULL when @p len is 0.
 * @param len how many bytes are available (more than 15 are ignored).
 * @param res what was done, on success.
 * @return 0 or negative errno.
 * @retval -EINVAL invalid encoding (see hvabs_x86emu_decode()), or bad @p ops.
 * @retval -ENOTSUP an instruction the emulator does not support.
 * @retval HVABS_X86EMU_ETRUNCATED the bytes end too soon and there is no fetch.
 * @retval -EFAULT a non-canonical linear address in 64-bit mode (the guest
 *         would take \#GP or \#SS).
 * @retval other an error returned by a callback.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_x86emu_run(const struct hvabs_x86emu_ops *ops,
						const void *bytes, size_t len,
						struct hvabs_x86emu_result *res);

/**
 * The name of a mnemonic, for logs. Thread: any.
 * @param mnemonic an enum hvabs_x86emu_mnemonic value.
 * @return a static lower-case string ("mov", ...), "?" for unknown values.
 */
HVABS_API const char *hvabs_x86emu_mnemonic_name(uint32_t mnemonic);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
