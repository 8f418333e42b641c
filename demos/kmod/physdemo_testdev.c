// SPDX-License-Identifier: GPL-2.0
/*
 * physdemo_testdev: QEMU's pc-testdev scratch memory as a platform device.
 *
 * The source material's third setup is a platform device with known physical
 * register addresses. QEMU's `-device pc-testdev` (demos/vm/run attaches it to
 * every VM) has one: a 64 KiB MMIO region, "pc-testdev-iomem", at the fixed
 * physical address 0xff000000, which reads back what was written. No firmware
 * table describes it, so the kernel does not know it is there and the range
 * is in no region of /proc/iomem.
 *
 * This module registers a platform device "physdemo-testdev" with that MEM
 * resource and a platform driver that binds to it and claims the range
 * (request_mem_region, as a driver claims its registers). /proc/iomem then
 * lists both, the device's resource and, nested in it, the driver's busy
 * claim:
 *
 *   ff000000-ff00ffff : physdemo-testdev
 *     ff000000-ff00ffff : physdemo-testdev
 *
 * pc-testdev also holds one 32-bit value at I/O ports 0xe0-0xe3
 * ("pc-testdev-ioport"); the device has that IO resource too and the driver
 * claims it (request_region), so /proc/ioports lists it the same way, inside
 * the PCI bus's I/O window:
 *
 *   00e0-00e3 : physdemo-testdev
 *     00e0-00e3 : physdemo-testdev
 *
 * The driver never touches the device itself: every access to it comes from
 * user space, so QEMU's trace of the region shows only those. With
 * CONFIG_IO_STRICT_DEVMEM the claim closes the range to /dev/mem (EPERM);
 * unloading the module opens it again.
 *
 * Only in QEMU: on a real PC 0xff000000 is the firmware's flash, so the module
 * refuses to load (ENODEV, and one kernel log line saying why) unless the CPU
 * says it runs under a hypervisor and the ACPI tables are QEMU's (FADT OEM
 * ID "BOCHS ", QEMU's default). It touches nothing to find out.
 *
 * Loading fails with EBUSY (and a log line) when something else already holds
 * the range or the ports, and with ENODEV when the driver could not bind. demos/vm/initramfs
 * loads it at boot; build: demos/kmod/build.
 */
#include <linux/acpi.h>
#include <linux/err.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/string.h>

#include <asm/cpufeature.h>

#define TESTDEV_NAME	"physdemo-testdev"
#define TESTDEV_BASE	0xff000000
#define TESTDEV_SIZE	0x10000
#define TESTDEV_PORT	0xe0
#define TESTDEV_PORTS	4

static struct resource testdev_resources[] = {
	DEFINE_RES_MEM(TESTDEV_BASE, TESTDEV_SIZE),
	DEFINE_RES_IO(TESTDEV_PORT, TESTDEV_PORTS),
};

static struct platform_device *testdev_pdev;

static int __init testdev_probe(struct platform_device *pdev)
{
	struct resource *mem, *io;

	mem = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	io = platform_get_resource(pdev, IORESOURCE_IO, 0);
	if (!mem || !io)
		return -ENODEV;
	if (!devm_request_mem_region(&pdev->dev, mem->start,
				     resource_size(mem), dev_name(&pdev->dev))) {
		dev_err(&pdev->dev, "%pR is already claimed\n", mem);
		return -EBUSY;
	}
	if (!devm_request_region(&pdev->dev, io->start, resource_size(io),
				 dev_name(&pdev->dev))) {
		dev_err(&pdev->dev, "%pR is already claimed\n", io);
		return -EBUSY;
	}
	dev_info(&pdev->dev, "claimed %pR and %pR (QEMU pc-testdev)\n", mem,
		 io);
	return 0;
}

static struct platform_driver testdev_driver = {
	.driver = {
		.name = TESTDEV_NAME,
	},
};

/*
 * Is this QEMU? NULL when it is, else why not (for the log line). Only what
 * the kernel already knows: the CPU's hypervisor bit and the FADT's OEM ID.
 */
static const char *__init testdev_not_qemu(void)
{
	struct acpi_table_header *fadt;
	bool bochs;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return "the CPU reports no hypervisor";
	if (ACPI_FAILURE(acpi_get_table(ACPI_SIG_FADT, 0, &fadt)))
		return "there is no ACPI FADT";
	bochs = !memcmp(fadt->oem_id, "BOCHS ", ACPI_OEM_ID_SIZE);
	acpi_put_table(fadt);
	return bochs ? NULL : "the ACPI tables are not QEMU's (FADT OEM ID is not \"BOCHS \")";
}

static int __init physdemo_testdev_init(void)
{
	const char *why = testdev_not_qemu();

	if (why) {
		pr_err("physdemo_testdev: not loaded: this is not QEMU (%s); outside QEMU %#x is not pc-testdev but, on a PC, the firmware's flash\n",
		       why, TESTDEV_BASE);
		return -ENODEV;
	}
	/*
	 * Adds the device (inserting its resource into iomem_resource: EBUSY
	 * if that range overlaps another) and binds the driver to it at once;
	 * ENODEV if the probe failed.
	 */
	testdev_pdev = platform_create_bundle(&testdev_driver, testdev_probe,
					      testdev_resources,
					      ARRAY_SIZE(testdev_resources),
					      NULL, 0);
	return PTR_ERR_OR_ZERO(testdev_pdev);
}

static void __exit physdemo_testdev_exit(void)
{
	platform_device_unregister(testdev_pdev);
	platform_driver_unregister(&testdev_driver);
}

module_init(physdemo_testdev_init);
module_exit(physdemo_testdev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("physdemo: QEMU pc-testdev memory at 0xff000000 and port 0xe0 as a platform device");
