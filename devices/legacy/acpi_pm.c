/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI fixed hardware: the PM1a event and control blocks (ACPI 6.5 section
 * 4.8.3.1-4.8.3.2) and the reset control register at 0xCF9 (Intel PCH
 * datasheets, "Reset Control Register"). Only what power-off, the power
 * button and reset need; no PM timer, GPE blocks or sleep states but S5.
 *
 * The event and control blocks are separate bus registrations that share
 * the SCI state, so the device keeps its own mutex, taken inside either
 * registration's bus lock and by hvabs_acpi_pm_power_button().
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/bus.h>
#include <hvabs/devices/acpi_pm.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#define COMP "acpi-pm"

/* PM1_STS / PM1_EN bits */
#define PM1_TMR	   (1u << 0)
#define PM1_GBL	   (1u << 5)
#define PM1_PWRBTN (1u << 8)
#define PM1_SLPBTN (1u << 9)
#define PM1_RTC	   (1u << 10)
#define PM1_EN_MASK                                                                                \
	(PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | (1u << 14) /* PCIEXP_WAKE_DIS */)
#define PM1_SCI_SOURCES (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)

/* PM1_CNT bits */
#define CNT_SCI_EN	  (1u << 0)
#define CNT_BM_RLD	  (1u << 1)
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP_MASK  (7u << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN	  (1u << 13)

/* 0xCF9 bits */
#define RST_SYS	 0x02
#define RST_CPU	 0x04
#define RST_FULL 0x08

struct hvabs_acpi_pm {
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_bus_dev *dev_evt, *dev_cnt, *dev_rst;
	uint32_t sci_gsi;
	uint8_t s5;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint8_t rst;
	int sci_level;
};

static void update_sci(struct hvabs_acpi_pm *pm)
{
	int level = (pm->cnt & CNT_SCI_EN) && (pm->sts & pm->en & PM1_SCI_SOURCES);

	if (level == pm->sci_level)
		return;
	int rc = hvabs_irq_line(pm->vm, pm->sci_gsi, level);
	if (rc) {
		hvabs_log_ratelimited(pm->log, &pm->rl, HVABS_LOG_WARN, COMP,
				      "cannot set the SCI (GSI %u) to %d: %s", pm->sci_gsi, level,
				      strerror(-rc));
		return;
	}
	pm->sci_level = level;
}

static void sleep_request(struct hvabs_acpi_pm *pm, unsigned typ)
{
	if (typ == pm->s5) {
		hvabs_log_ratelimited(pm->log, &pm->rl, HVABS_LOG_INFO, COMP,
				      "guest entered S5: power off");
		hvabs_vm_request_stop(pm->vm, HVABS_STOP_POWEROFF);
		return;
	}
	hvabs_log_ratelimited(pm->log, &pm->rl, HVABS_LOG_WARN, COMP,
			      "sleep type %u requested; only S5 (SLP_TYP %u) is supported: ignored",
			      typ, pm->s5);
}

/* Reads and writes may be 1, 2 or 4 bytes wide (ACPI allows byte access);
 * each byte is handled on its own. */
static int evt_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_acpi_pm *pm = opaque;
	uint32_t regs;
	uint64_t v = 0;

	pthread_mutex_lock(&pm->lock);
	regs = pm->sts | (uint32_t)pm->en << 16;
	pthread_mutex_unlock(&pm->lock);
	for (uint32_t i = 0; i < size; i++)
		v |= (off + i < 4 ? (uint64_t)(regs >> (8 * (off + i))) & 0xff : 0xff) << (8 * i);
	*val = v;
	return 0;
}

static int evt_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_acpi_pm *pm = opaque;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < size && off + i < 4; i++) {
		unsigned pos = (unsigned)(off + i);
		uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff);
		unsigned shift = 8 * (pos & 1);
		if (pos < 2) /* PM1_STS: write 1 to clear */
			pm->sts &= (uint16_t) ~(b << shift);
		else
			pm->en = (uint16_t)(((pm->en & ~(0xffu << shift)) | (unsigned)b << shift) &
					    PM1_EN_MASK);
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int cnt_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_acpi_pm *pm = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&pm->lock);
	uint16_t cnt = pm->cnt; /* SLP_EN is write-only and reads 0 */
	pthread_mutex_unlock(&pm->lock);
	for (uint32_t i = 0; i < size; i++)
		v |= (off + i < 2 ? (uint64_t)(cnt >> (8 * (off + i))) & 0xff : 0xff) << (8 * i);
	*val = v;
	return 0;
}

static int cnt_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_acpi_pm *pm = opaque;
	bool slp_en = false;

	pthread_mutex_lock(&pm->lock);
	uint16_t cnt = pm->cnt;
	for (uint32_t i = 0; i < size && off + i < 2; i++) {
		uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff);
		if (off + i == 0) {
			/* GBL_RLS (bit 2) only signals firmware, which there is none of. */
			cnt = (uint16_t)((cnt & 0xff00) | (b & (CNT_SCI_EN | CNT_BM_RLD)));
		} else {
			uint16_t hi = (uint16_t)(b << 8);
			cnt = (uint16_t)((cnt & 0x00ff) | (hi & CNT_SLP_TYP_MASK));
			slp_en = hi & CNT_SLP_EN;
		}
	}
	pm->cnt = cnt;
	update_sci(pm);
	if (slp_en)
		sleep_request(pm, (cnt & CNT_SLP_TYP_MASK) >> CNT_SLP_TYP_SHIFT);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int rst_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_acpi_pm *pm = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&pm->lock);
	*val = ~0xffull | pm->rst; /* the bus keeps the low @p size bytes */
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int rst_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_acpi_pm *pm = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&pm->lock);
	pm->rst = (uint8_t)(val & (RST_SYS | RST_FULL));
	if (val & RST_CPU) {
		hvabs_log_ratelimited(pm->log, &pm->rl, HVABS_LOG_INFO, COMP,
				      "guest reset through port 0xcf9");
		hvabs_vm_request_stop(pm->vm, HVABS_STOP_RESET);
	}
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static const struct hvabs_bus_ops evt_ops = {.read = evt_read, .write = evt_write};
static const struct hvabs_bus_ops cnt_ops = {.read = cnt_read, .write = cnt_write};
static const struct hvabs_bus_ops rst_ops = {.read = rst_read, .write = rst_write};

int hvabs_acpi_pm_power_button(struct hvabs_acpi_pm *pm)
{
	if (!pm)
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

int hvabs_acpi_pm_create(struct hvabs_vm *vm, const struct hvabs_acpi_pm_config *cfg,
			 struct hvabs_acpi_pm **out)
{
	static const struct hvabs_acpi_pm_config defaults = HVABS_ACPI_PM_CONFIG_INIT;
	struct hvabs_acpi_pm *pm;

	if (!cfg)
		cfg = &defaults;
	uint16_t evt = cfg->evt_base ? cfg->evt_base : HVABS_ACPI_PM1A_EVT_BASE;
	uint16_t cnt = cfg->cnt_base ? cfg->cnt_base : HVABS_ACPI_PM1A_CNT_BASE;
	if (!vm || !out || cfg->s5_slp_typ > 7 || (cfg->flags & ~HVABS_ACPI_PM_F_NO_RESET_REG) ||
	    (evt < cnt + 2 && cnt < evt + 4))
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	pm->log = hvabs_vm_logger(vm);
	pm->sci_gsi = cfg->sci_gsi ? cfg->sci_gsi : HVABS_ACPI_SCI_GSI;
	pm->s5 = cfg->s5_slp_typ;
	/* No SMI_CMD: the machine starts in ACPI mode (ACPI 6.5 section 4.8.2.1). */
	pm->cnt = CNT_SCI_EN;
	pm->sci_level = -1;
	pthread_mutex_init(&pm->lock, NULL);
	int rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, evt, 4, &evt_ops, pm, 0, &pm->dev_evt);
	if (!rc)
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, cnt, 2, &cnt_ops, pm, 0, &pm->dev_cnt);
	if (!rc && !(cfg->flags & HVABS_ACPI_PM_F_NO_RESET_REG))
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, HVABS_ACPI_RESET_PORT, 1, &rst_ops, pm,
					0, &pm->dev_rst);
	if (rc) {
		hvabs_acpi_pm_destroy(pm);
		return rc;
	}
	*out = pm;
	return 0;
}

void hvabs_acpi_pm_destroy(struct hvabs_acpi_pm *pm)
{
	if (!pm)
		return;
	hvabs_bus_unregister(pm->dev_rst);
	hvabs_bus_unregister(pm->dev_cnt);
	hvabs_bus_unregister(pm->dev_evt);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
