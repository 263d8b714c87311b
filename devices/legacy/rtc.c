/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CMOS RTC after the MC146818A / DS12887 data sheets. The time is never
 * stored: it is the VM clock plus `offset_ns`, broken down on every read, so
 * there is no update timer and nothing to drift. Guest writes move the
 * offset. While the clock is halted (SET, or the divider chain in reset) the
 * broken-down time is latched in `held` and writes go there; releasing the
 * clock turns `held` back into an offset.
 *
 * All state is guarded by the bus registration's lock; the public CMOS
 * accessors take it with hvabs_bus_dev_lock().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hvabs/bus.h>
#include <hvabs/devices/rtc.h>
#include <hvabs/log.h>

#define COMP "rtc"
#define NS   1000000000ll

enum {
	R_SEC = 0x00,
	R_SEC_ALARM = 0x01,
	R_MIN = 0x02,
	R_MIN_ALARM = 0x03,
	R_HOUR = 0x04,
	R_HOUR_ALARM = 0x05,
	R_WDAY = 0x06,
	R_MDAY = 0x07,
	R_MON = 0x08,
	R_YEAR = 0x09,
	R_A = 0x0a,
	R_B = 0x0b,
	R_C = 0x0c,
	R_D = 0x0d,
	R_CENTURY = HVABS_RTC_CENTURY,
};

#define A_UIP	    0x80
#define A_DIV_RESET 0x60 /* DV2 and DV1 set: divider chain held in reset */
#define B_SET	    0x80
#define B_PIE	    0x40
#define B_AIE	    0x20
#define B_UIE	    0x10
#define B_DM_BINARY 0x04
#define B_24H	    0x02
#define D_VRT	    0x80

/* UIP goes up 244 us before the update, which then takes 1984 us (DS12887). */
#define UIP_BEFORE_NS 244000ll
#define UIP_AFTER_NS  1984000ll

struct rtc_time {
	int64_t year; /* full year */
	int mon;      /* 1-12 */
	int mday;     /* 1-31 */
	int hour;     /* 0-23 */
	int min;
	int sec;
	int wday; /* 1-7, Sunday = 1 */
};

struct hvabs_rtc {
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_bus_dev *dev;
	uint16_t base;
	uint8_t index;
	uint8_t ram[128]; /* alarms, A, B and CMOS RAM; the time registers are not kept here */
	int64_t offset_ns;
	int wday_delta; /* guest's day of week minus the real one, mod 7 */
	bool halted;
	bool div_was_reset; /* the divider was held in reset during this halt */
	bool wday_written;  /* the guest set the day of week during this halt */
	struct rtc_time held;
	uint64_t last_a_ns; /* VM clock at the previous status A read */
	bool a_read;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint64_t vm_now(struct hvabs_rtc *r)
{
	uint64_t ns = 0;
	int rc = hvabs_vm_get_time(r->vm, &ns);

	if (rc)
		hvabs_log_ratelimited(r->log, &r->rl, HVABS_LOG_WARN, COMP,
				      "cannot read the VM clock: %s", strerror(-rc));
	return ns;
}

/* Guest time as whole seconds since the epoch and nanoseconds into the second. */
static int64_t guest_secs(struct hvabs_rtc *r, uint64_t now, int64_t *frac)
{
	int64_t t = (int64_t)now + r->offset_ns;
	int64_t s = floor_div(t, NS);

	if (frac)
		*frac = t - s * NS;
	return s;
}

static struct rtc_time breakdown(int64_t secs, int wday_delta)
{
	struct rtc_time t = {0};
	struct tm tm;
	time_t tt = (time_t)secs;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	t.year = (int64_t)tm.tm_year + 1900;
	t.mon = tm.tm_mon + 1;
	t.mday = tm.tm_mday;
	t.hour = tm.tm_hour;
	t.min = tm.tm_min;
	t.sec = tm.tm_sec;
	t.wday = (tm.tm_wday + wday_delta) % 7 + 1;
	return t;
}

/* Seconds since the epoch of @p t (out-of-range days roll over, as timegm does). */
static int64_t compose(const struct rtc_time *t, int *real_wday)
{
	struct tm tm = {0};

	tm.tm_year = (int)(t->year - 1900);
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->mday;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	int64_t s = (int64_t)timegm(&tm);
	*real_wday = tm.tm_wday + 1;
	return s;
}

static struct rtc_time current(struct hvabs_rtc *r)
{
	if (r->halted)
		return r->held;
	return breakdown(guest_secs(r, vm_now(r), NULL), r->wday_delta);
}

/* ---- formats ---- */

static bool binary(const struct hvabs_rtc *r)
{
	return r->ram[R_B] & B_DM_BINARY;
}

static uint8_t enc(const struct hvabs_rtc *r, int v)
{
	return binary(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Decodes a register value; -1 for a BCD byte with a digit above 9. */
static int dec(const struct hvabs_rtc *r, uint8_t v)
{
	if (binary(r))
		return v;
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t enc_hour(const struct hvabs_rtc *r, int h)
{
	if (r->ram[R_B] & B_24H)
		return enc(r, h);
	int h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(enc(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int dec_hour(const struct hvabs_rtc *r, uint8_t v)
{
	if (r->ram[R_B] & B_24H)
		return dec(r, v);
	int h = dec(r, v & 0x7f);
	if (h < 1 || h > 12)
		return -1;
	return (h % 12) + (v & 0x80 ? 12 : 0);
}

/* ---- clock control ---- */

/* Guest times the clock accepts: 1900 up to 2199, so nanosecond offsets never overflow. */
#define MIN_SECS (-2208988800ll) /* 1900-01-01 */
#define MAX_SECS 7258118400ll	 /* 2200-01-01 */

/* Makes @p t the current time; false (and nothing changes) when it is out of range. */
static bool commit(struct hvabs_rtc *r, const struct rtc_time *t, bool keep_phase, int64_t frac_ns)
{
	int real_wday;
	int64_t secs = compose(t, &real_wday);
	uint64_t now = vm_now(r);

	if (secs < MIN_SECS || secs >= MAX_SECS || t->year < 1900 || t->year >= 2200) {
		hvabs_log_ratelimited(r->log, &r->rl, HVABS_LOG_WARN, COMP,
				      "time %04lld-%02d-%02d out of range (1900-2199): ignored",
				      (long long)t->year, t->mon, t->mday);
		return false;
	}
	if (keep_phase)
		guest_secs(r, now, &frac_ns);
	r->offset_ns = secs * NS + frac_ns - (int64_t)now;
	if (r->wday_written)
		r->wday_delta = ((t->wday - real_wday) % 7 + 7) % 7;
	return true;
}

/* The clock stands still while SET is on or the divider is in reset. */
static void update_halt(struct hvabs_rtc *r)
{
	bool div_reset = (r->ram[R_A] & A_DIV_RESET) == A_DIV_RESET;
	bool want = (r->ram[R_B] & B_SET) || div_reset;

	if (want && !r->halted) {
		r->held = current(r);
		r->halted = true;
		r->wday_written = false;
		r->div_was_reset = false;
	}
	if (div_reset)
		r->div_was_reset = true;
	if (!want && r->halted) {
		r->halted = false;
		/* After a divider reset the first update comes 500 ms later. */
		commit(r, &r->held, false, r->div_was_reset ? NS / 2 : 0);
		r->wday_written = false;
	}
}

static bool uip(struct hvabs_rtc *r)
{
	if (r->halted)
		return false;
	uint64_t now = vm_now(r);
	bool moved = !r->a_read || now != r->last_a_ns;
	int64_t frac;

	r->last_a_ns = now;
	r->a_read = true;
	if (!moved)
		return false; /* a stopped clock never finishes an update */
	guest_secs(r, now, &frac);
	return frac >= NS - UIP_BEFORE_NS || frac < UIP_AFTER_NS;
}

/* ---- registers ---- */

static uint8_t reg_read(struct hvabs_rtc *r, uint8_t idx)
{
	struct rtc_time t;

	switch (idx) {
	case R_SEC:
	case R_MIN:
	case R_HOUR:
	case R_WDAY:
	case R_MDAY:
	case R_MON:
	case R_YEAR:
	case R_CENTURY:
		t = current(r);
		switch (idx) {
		case R_SEC:
			return enc(r, t.sec);
		case R_MIN:
			return enc(r, t.min);
		case R_HOUR:
			return enc_hour(r, t.hour);
		case R_WDAY:
			return enc(r, t.wday);
		case R_MDAY:
			return enc(r, t.mday);
		case R_MON:
			return enc(r, t.mon);
		case R_YEAR:
			return enc(r, (int)(t.year % 100));
		default:
			return enc(r, (int)(t.year / 100 % 100));
		}
	case R_A:
		return (uint8_t)((r->ram[R_A] & 0x7f) | (uip(r) ? A_UIP : 0));
	case R_C:
		return 0; /* no interrupt source is emulated (see rtc.h) */
	case R_D:
		return D_VRT;
	default:
		return r->ram[idx];
	}
}

/* A time register write: decoded in the current format, range-checked. */
static void write_time(struct hvabs_rtc *r, uint8_t idx, uint8_t v)
{
	int n = idx == R_HOUR ? dec_hour(r, v) : dec(r, v);
	struct rtc_time t = current(r);
	bool ok = n >= 0;

	switch (idx) {
	case R_SEC:
		ok = ok && n <= 59;
		t.sec = n;
		break;
	case R_MIN:
		ok = ok && n <= 59;
		t.min = n;
		break;
	case R_HOUR:
		ok = ok && n <= 23;
		t.hour = n;
		break;
	case R_WDAY:
		ok = ok && n >= 1 && n <= 7;
		t.wday = n;
		break;
	case R_MDAY:
		ok = ok && n >= 1 && n <= 31;
		t.mday = n;
		break;
	case R_MON:
		ok = ok && n >= 1 && n <= 12;
		t.mon = n;
		break;
	case R_YEAR:
		ok = ok && n <= 99;
		t.year = t.year / 100 * 100 + n;
		break;
	default: /* century */
		ok = ok && n <= 99;
		t.year = (int64_t)n * 100 + t.year % 100;
		break;
	}
	if (!ok) {
		hvabs_log_ratelimited(r->log, &r->rl, HVABS_LOG_WARN, COMP,
				      "register 0x%02x: invalid value 0x%02x ignored", idx, v);
		return;
	}
	if (idx == R_WDAY)
		r->wday_written = true;
	if (r->halted) {
		r->held = t;
		return;
	}
	commit(r, &t, true, 0);
	r->wday_written = false;
}

static void reg_write(struct hvabs_rtc *r, uint8_t idx, uint8_t v)
{
	switch (idx) {
	case R_SEC:
	case R_MIN:
	case R_HOUR:
	case R_WDAY:
	case R_MDAY:
	case R_MON:
	case R_YEAR:
	case R_CENTURY:
		write_time(r, idx, v);
		break;
	case R_A:
		r->ram[R_A] = v & 0x7f; /* UIP is read-only */
		update_halt(r);
		break;
	case R_B:
		if (v & B_SET)
			v &= (uint8_t)~B_UIE; /* SET clears UIE (MC146818A) */
		if ((v & (B_PIE | B_AIE | B_UIE)) && !(r->ram[R_B] & (B_PIE | B_AIE | B_UIE)))
			hvabs_log_ratelimited(r->log, &r->rl, HVABS_LOG_INFO, COMP,
					      "RTC interrupts enabled (0x%02x) but not emulated",
					      v);
		r->ram[R_B] = v;
		update_halt(r);
		break;
	case R_C:
	case R_D:
		break; /* read-only */
	default:
		r->ram[idx] = v;
		break;
	}
}

static int rtc_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_rtc *r = opaque;
	uint64_t v = 0;

	for (uint32_t i = 0; i < size; i++) {
		/* The index port is write-only; it floats. */
		uint64_t b = off + i == 1 ? reg_read(r, r->index) : 0xff;
		v |= b << (8 * i);
	}
	*val = v;
	return 0;
}

static int rtc_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_rtc *r = opaque;

	for (uint32_t i = 0; i < size && off + i < 2; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		if (off + i == 0)
			r->index = b & 0x7f; /* bit 7 masks NMIs; there is nothing to mask */
		else
			reg_write(r, r->index, b);
	}
	return 0;
}

static const struct hvabs_bus_ops rtc_ops = {.read = rtc_read, .write = rtc_write};

/* ---- CMOS RAM ---- */

static bool ram_index(uint8_t idx)
{
	return idx >= 0x0e && idx <= 0x7f && idx != R_CENTURY;
}

static void checksum(struct hvabs_rtc *r)
{
	unsigned sum = 0;

	for (int i = 0x10; i <= 0x2d; i++)
		sum += r->ram[i];
	r->ram[0x2e] = (uint8_t)(sum >> 8);
	r->ram[0x2f] = (uint8_t)sum;
}

static void put16(struct hvabs_rtc *r, uint8_t idx, uint64_t v)
{
	r->ram[idx] = (uint8_t)v;
	r->ram[idx + 1] = (uint8_t)(v >> 8);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void memory_fields(struct hvabs_rtc *r, uint64_t below, uint64_t above)
{
	const uint64_t kib = 1024, mib = 1024 * kib;

	if (below) {
		put16(r, 0x15, min_u64(below / kib, 640));
		uint64_t ext = below > mib ? min_u64((below - mib) / kib, 0xffff) : 0;
		put16(r, 0x17, ext);
		put16(r, 0x30, ext);
		put16(r, 0x34,
		      below > 16 * mib ? min_u64((below - 16 * mib) / (64 * kib), 0xffff) : 0);
	}
	uint64_t high = min_u64(above / (64 * kib), 0xffffff);
	r->ram[0x5b] = (uint8_t)high;
	r->ram[0x5c] = (uint8_t)(high >> 8);
	r->ram[0x5d] = (uint8_t)(high >> 16);
	checksum(r);
}

int hvabs_rtc_cmos_write(struct hvabs_rtc *r, uint8_t index, uint8_t val)
{
	if (!r || !ram_index(index))
		return -EINVAL;
	hvabs_bus_dev_lock(r->dev);
	r->ram[index] = val;
	if (index >= 0x10 && index <= 0x2d)
		checksum(r);
	hvabs_bus_dev_unlock(r->dev);
	return 0;
}

int hvabs_rtc_cmos_read(struct hvabs_rtc *r, uint8_t index, uint8_t *val)
{
	if (!r || !val || !ram_index(index))
		return -EINVAL;
	hvabs_bus_dev_lock(r->dev);
	*val = r->ram[index];
	hvabs_bus_dev_unlock(r->dev);
	return 0;
}

int hvabs_rtc_create(struct hvabs_vm *vm, const struct hvabs_rtc_config *cfg,
		     struct hvabs_rtc **out)
{
	struct hvabs_rtc *r;

	if (!vm || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->log = hvabs_vm_logger(vm);
	r->base = cfg && cfg->base ? cfg->base : HVABS_RTC_BASE;
	r->ram[R_A] = 0x26;  /* 32.768 kHz time base, 1024 Hz periodic rate */
	r->ram[R_B] = B_24H; /* BCD, 24-hour, as PC firmware leaves it */
	if (cfg)
		memory_fields(r, cfg->mem_below_4g, cfg->mem_above_4g);
	else
		checksum(r);
	int rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, r->base, 2, &rtc_ops, r, 0, &r->dev);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void hvabs_rtc_destroy(struct hvabs_rtc *r)
{
	if (!r)
		return;
	hvabs_bus_unregister(r->dev);
	free(r);
}
