/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042 keyboard controller with a keyboard that never types, plus system
 * control port B (0x61). Command set: IBM PS/2 Technical Reference, "Keyboard
 * and Auxiliary Device Controller"; keyboard replies: the same, "Keyboard
 * Commands". What must work is what Linux's i8042.c (i8042_controller_check,
 * _selftest, _init, i8042_check_aux) and atkbd.c (atkbd_probe, reset_state,
 * activate) send at boot.
 *
 * Ports 0x60 and 0x64 are two bus registrations (0x61-0x63 between them
 * belong to others), so the controller state has its own mutex, taken inside
 * either registration's bus lock. Port 0x61 shares no state and relies on
 * its bus lock alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/bus.h>
#include <hvabs/devices/i8042.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#define COMP	    "i8042"

#define PORT_DATA   0x60
#define PORT_PORTB  0x61
#define PORT_STATUS 0x64

#define STR_OBF	    0x01
#define STR_SYS	    0x04
#define STR_CMD	    0x08 /* the last write went to 0x64 */
#define STR_UNLOCK  0x10 /* keylock off */
#define STR_AUXDATA 0x20

#define CTR_KBDINT  0x01
#define CTR_SYS	    0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

#define OUT_RESET   0x01 /* output port bit 0: low resets the CPU */
#define OUT_A20	    0x02
#define OUT_OBF	    0x10

#define KBD_ACK	    0xfa
#define KBD_RESEND  0xfe
#define KBD_BAT_OK  0xaa
#define KBD_QUEUE   16

struct hvabs_i8042 {
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_bus_dev *dev_data, *dev_status, *dev_portb;
	uint32_t gsi;
	pthread_mutex_t lock; /* everything below but the port B fields */

	uint8_t ram[32]; /* controller RAM; byte 0 is the command byte (CTR) */
	uint8_t outport;
	uint8_t pending; /* command waiting for its data byte, or 0 */
	bool last_was_cmd;
	uint8_t obuf; /* the output buffer the guest reads at 0x60 */
	bool obf;
	uint8_t answer; /* a controller answer waiting for the output buffer */
	bool has_answer;
	int irq_level;

	/* the keyboard */
	uint8_t kq[KBD_QUEUE];
	unsigned kq_head, kq_count;
	uint8_t kbd_param; /* command waiting for its parameter byte, or 0 */
	uint8_t kbd_last;  /* for 0xFE (resend) */
	uint8_t scanset;
	bool kbd_enabled;

	/* port B */
	uint8_t portb;
	bool refresh;
};

#define CTR(k) ((k)->ram[0])

/* ---- output buffer and interrupt ---- */

static void set_line(struct hvabs_i8042 *k, int level)
{
	if (level == k->irq_level)
		return;
	int rc = hvabs_irq_line(k->vm, k->gsi, level);
	if (rc) {
		hvabs_log_ratelimited(k->log, &k->rl, HVABS_LOG_WARN, COMP,
				      "cannot set GSI %u to %d: %s", k->gsi, level, strerror(-rc));
		return;
	}
	k->irq_level = level;
}

/* Moves the next byte into the output buffer: controller answers first, then
 * keyboard bytes, which wait while the keyboard interface is disabled. */
static void refill(struct hvabs_i8042 *k)
{
	if (k->obf)
		return;
	if (k->has_answer) {
		k->obuf = k->answer;
		k->has_answer = false;
		k->obf = true;
	} else if (k->kq_count && !(CTR(k) & CTR_KBDDIS)) {
		k->obuf = k->kq[k->kq_head];
		k->kq_head = (k->kq_head + 1) % KBD_QUEUE;
		k->kq_count--;
		k->obf = true;
	}
}

static void update(struct hvabs_i8042 *k)
{
	refill(k);
	set_line(k, k->obf && (CTR(k) & CTR_KBDINT));
}

/* A controller answer replaces whatever the guest has not read. */
static void answer(struct hvabs_i8042 *k, uint8_t v)
{
	if (k->obf) {
		k->obf = false;
		set_line(k, 0); /* so the new byte is a new edge */
	}
	k->answer = v;
	k->has_answer = true;
}

static void kbd_put(struct hvabs_i8042 *k, uint8_t v)
{
	if (k->kq_count == KBD_QUEUE)
		return; /* a real keyboard overruns too; it only ever holds replies here */
	k->kq[(k->kq_head + k->kq_count) % KBD_QUEUE] = v;
	k->kq_count++;
	k->kbd_last = v;
}

/* ---- the keyboard ---- */

static void kbd_defaults(struct hvabs_i8042 *k)
{
	k->scanset = 2;
	k->kbd_enabled = true;
}

/* The parameter byte of 0xED (LEDs), 0xF3 (typematic rate) or 0xF0 (scan set). */
static void kbd_param_byte(struct hvabs_i8042 *k, uint8_t cmd, uint8_t v)
{
	if (cmd == 0xf0 && v > 3) {
		kbd_put(k, KBD_RESEND);
		return;
	}
	kbd_put(k, KBD_ACK);
	if (cmd == 0xf0 && v == 0)
		kbd_put(k, k->scanset);
	else if (cmd == 0xf0)
		k->scanset = v;
}

static void kbd_write(struct hvabs_i8042 *k, uint8_t v)
{
	if (k->kbd_param) {
		uint8_t cmd = k->kbd_param;
		k->kbd_param = 0;
		kbd_param_byte(k, cmd, v);
		return;
	}
	if (v == KBD_RESEND) {
		kbd_put(k, k->kbd_last);
		return;
	}
	/* A keyboard drops its pending output when it receives a command. */
	k->kq_count = 0;
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf3: /* set typematic rate */
	case 0xf0: /* get/set scan code set */
		kbd_put(k, KBD_ACK);
		k->kbd_param = v;
		break;
	case 0xee: /* echo */
		kbd_put(k, 0xee);
		break;
	case 0xf2: /* identify: an MF2 keyboard; the controller translates 0x83 */
		kbd_put(k, KBD_ACK);
		kbd_put(k, 0xab);
		kbd_put(k, CTR(k) & CTR_XLATE ? 0x41 : 0x83);
		break;
	case 0xf4:
		k->kbd_enabled = true;
		kbd_put(k, KBD_ACK);
		break;
	case 0xf5:
		kbd_defaults(k);
		k->kbd_enabled = false;
		kbd_put(k, KBD_ACK);
		break;
	case 0xf6:
		kbd_defaults(k);
		kbd_put(k, KBD_ACK);
		break;
	case 0xf7:
	case 0xf8:
	case 0xf9:
	case 0xfa:
	case 0xfb:
	case 0xfc:
	case 0xfd:
		kbd_put(k, KBD_ACK); /* scan set 3 key types: accepted, no effect */
		break;
	case 0xff: /* reset and self-test (BAT) */
		kbd_defaults(k);
		kbd_put(k, KBD_ACK);
		kbd_put(k, KBD_BAT_OK);
		break;
	default:
		kbd_put(k, KBD_RESEND);
		break;
	}
}

/* ---- the controller ---- */

static void reset_machine(struct hvabs_i8042 *k, const char *how)
{
	/* The guest can repeat it at will: rate limited like any guest-made line. */
	hvabs_log_ratelimited(k->log, &k->rl, HVABS_LOG_INFO, COMP, "guest reset through %s", how);
	hvabs_vm_request_stop(k->vm, HVABS_STOP_RESET);
}

static void write_outport(struct hvabs_i8042 *k, uint8_t v)
{
	k->outport = v;
	if (!(v & OUT_RESET))
		reset_machine(k, "the output port (0xD1)");
}

static void data_write(struct hvabs_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->last_was_cmd = false;
	k->pending = 0;
	if (!cmd) {
		/* A byte for the keyboard re-enables its interface, as on real
		 * controllers; Linux probes the keyboard with the port disabled. */
		CTR(k) &= (uint8_t)~CTR_KBDDIS;
		kbd_write(k, v);
	} else if (cmd == 0xd1) {
		write_outport(k, v);
	} else if (cmd == 0xd2) {
		answer(k, v); /* write keyboard output buffer: reads back as keyboard data */
	} else {
		k->ram[cmd & 0x1f] = v; /* 0x60-0x7f: controller RAM, 0x60 is the CTR */
	}
}

static void command(struct hvabs_i8042 *k, uint8_t cmd)
{
	k->last_was_cmd = true;
	k->pending = 0;
	if (cmd >= 0x20 && cmd <= 0x3f) {
		answer(k, k->ram[cmd & 0x1f]);
	} else if ((cmd >= 0x60 && cmd <= 0x7f) || cmd == 0xd1 || cmd == 0xd2) {
		k->pending = cmd;
	} else if (cmd >= 0xf0) {
		/* Pulse output port bits for which the command has a 0 (0xFE: bit 0). */
		if (!(cmd & 1))
			reset_machine(k, "command 0xFE");
	} else {
		switch (cmd) {
		case 0xa9: /* AUX interface test: there is no AUX port */
			answer(k, 0x02);
			break;
		case 0xaa: /* controller self-test */
			answer(k, 0x55);
			break;
		case 0xab: /* keyboard interface test */
			answer(k, 0x00);
			break;
		case 0xad:
			CTR(k) |= CTR_KBDDIS;
			break;
		case 0xae:
			CTR(k) &= (uint8_t)~CTR_KBDDIS;
			break;
		case 0xd0:
			answer(k, (uint8_t)(k->outport | (k->obf ? OUT_OBF : 0)));
			break;
		default:
			/* 0xA7/0xA8/0xD3/0xD4 (AUX) and vendor commands: an AT
			 * controller without AUX ignores them (see i8042.h). */
			hvabs_log_ratelimited(k->log, &k->rl, HVABS_LOG_DEBUG, COMP,
					      "command 0x%02x ignored", cmd);
			break;
		}
	}
}

static uint8_t status(struct hvabs_i8042 *k)
{
	return (uint8_t)((k->obf ? STR_OBF : 0) | (CTR(k) & CTR_SYS ? STR_SYS : 0) |
			 (k->last_was_cmd ? STR_CMD : 0) | STR_UNLOCK);
}

static uint8_t data_read(struct hvabs_i8042 *k)
{
	uint8_t v = k->obuf; /* an empty buffer returns the last byte again */

	if (k->obf) {
		k->obf = false;
		/* One byte per interrupt: lower the line so the next byte is an edge. */
		set_line(k, 0);
	}
	return v;
}

/* Each registration is one port wide; the extra bytes of a wider access float. */
static int kbc_read(void *opaque, uint32_t size, uint64_t *val, bool is_status)
{
	struct hvabs_i8042 *k = opaque;

	(void)size;
	pthread_mutex_lock(&k->lock);
	uint8_t v = is_status ? status(k) : data_read(k);
	update(k);
	pthread_mutex_unlock(&k->lock);
	*val = ~0xffull | v; /* the bus keeps the low @p size bytes */
	return 0;
}

static int data_rd(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	(void)off;
	return kbc_read(opaque, size, val, false);
}

static int status_rd(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	(void)off;
	return kbc_read(opaque, size, val, true);
}

static int data_wr(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_i8042 *k = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&k->lock);
	data_write(k, (uint8_t)val);
	update(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static int command_wr(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_i8042 *k = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&k->lock);
	command(k, (uint8_t)val);
	update(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static const struct hvabs_bus_ops data_ops = {.read = data_rd, .write = data_wr};
static const struct hvabs_bus_ops status_ops = {.read = status_rd, .write = command_wr};

/* ---- port B (0x61) ---- */

static int portb_rd(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_i8042 *k = opaque;

	(void)off;
	k->refresh = !k->refresh;
	(void)size;
	*val = ~0xffull | (k->portb & 0x0f) | (k->refresh ? 0x30u : 0u);
	return 0;
}

static int portb_wr(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_i8042 *k = opaque;

	(void)off;
	(void)size;
	k->portb = (uint8_t)(val & 0x0f);
	return 0;
}

static const struct hvabs_bus_ops portb_ops = {.read = portb_rd, .write = portb_wr};

/* ---- keys from the host ---- */

int hvabs_i8042_send_ctrl_alt_del(struct hvabs_i8042 *k)
{
	/* Ctrl, Alt and Del (an extended key) down, then up in reverse order. */
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	int rc = 0;

	if (!k)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	bool one = (CTR(k) & CTR_XLATE) || k->scanset == 1;
	const uint8_t *codes = one ? set1 : set2;
	unsigned n = one ? sizeof(set1) : sizeof(set2);
	if (!one && k->scanset != 2)
		rc = -ENOTSUP;
	else if (!k->kbd_enabled || KBD_QUEUE - k->kq_count < n)
		rc = -EAGAIN;
	for (unsigned i = 0; !rc && i < n; i++)
		kbd_put(k, codes[i]);
	if (!rc)
		update(k);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

/* ---- lifetime ---- */

int hvabs_i8042_create(struct hvabs_vm *vm, const struct hvabs_i8042_config *cfg,
		       struct hvabs_i8042 **out)
{
	struct hvabs_i8042 *k;
	int rc;

	if (!vm || !out || (cfg && (cfg->flags & ~HVABS_I8042_F_NO_PORT61)))
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vm = vm;
	k->log = hvabs_vm_logger(vm);
	k->gsi = cfg && cfg->kbd_gsi ? cfg->kbd_gsi : HVABS_I8042_KBD_GSI;
	pthread_mutex_init(&k->lock, NULL);
	/* As firmware leaves it: keyboard interrupt on, POST passed, no AUX
	 * port, scan codes translated to set 1. */
	CTR(k) = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	k->outport = OUT_RESET | OUT_A20;
	k->irq_level = -1;
	kbd_defaults(k);
	rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, PORT_DATA, 1, &data_ops, k, 0, &k->dev_data);
	if (!rc)
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, PORT_STATUS, 1, &status_ops, k, 0,
					&k->dev_status);
	if (!rc && !(cfg && (cfg->flags & HVABS_I8042_F_NO_PORT61)))
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, PORT_PORTB, 1, &portb_ops, k, 0,
					&k->dev_portb);
	if (rc) {
		hvabs_i8042_destroy(k);
		return rc;
	}
	*out = k;
	return 0;
}

void hvabs_i8042_destroy(struct hvabs_i8042 *k)
{
	if (!k)
		return;
	hvabs_bus_unregister(k->dev_portb);
	hvabs_bus_unregister(k->dev_status);
	hvabs_bus_unregister(k->dev_data);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
