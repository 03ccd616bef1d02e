// What the sensor readings mean: the storage condition the services must
// respect, and the warnings that turn the LED to "degraded".
//
// Thresholds (defaults):
// - nearly-full: the data disk is more than 95 % used, or has less than 64 MiB
//   available. The services answer temporary failures from here on, leaving
//   room for the database to commit what is in flight and to delete mail.
// - read-only: the data disk's mount has the `ro` option (ext4 remounts itself
//   read-only after an I/O error).
// - degraded: any disk more than 90 % used, the SoC at 75 °C or more, under-
//   voltage or throttling now, a SMART health check failing, less than 5 % of
//   memory available.

import type { DiskReading, SensorReadings } from '../hw/sensors.ts';
import type { StorageCondition } from './run-files.ts';

export interface Thresholds {
  nearlyFullPercent: number;
  nearlyFullFreeBytes: number;
  degradedDiskPercent: number;
  hotCelsius: number;
  lowMemoryPercent: number;
}

export const defaultThresholds: Thresholds = {
  nearlyFullPercent: 95,
  nearlyFullFreeBytes: 64 * 1024 * 1024,
  degradedDiskPercent: 90,
  hotCelsius: 75,
  lowMemoryPercent: 5,
};

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function describeDisk(disk: DiskReading): string {
  return `${disk.mount}${disk.device ? ` (${disk.device})` : ''}`;
}

export function storageCondition(data: DiskReading | undefined, thresholds: Thresholds = defaultThresholds): { state: StorageCondition; detail: string } {
  if (!data) return { state: 'ok', detail: 'the data disk could not be read' };
  if (data.readOnly) return { state: 'read-only', detail: `the data disk ${describeDisk(data)} is mounted read-only` };
  const free = formatBytes(data.availableBytes);
  if (data.usedPercent > thresholds.nearlyFullPercent || data.availableBytes < thresholds.nearlyFullFreeBytes) {
    return { state: 'nearly-full', detail: `the data disk ${describeDisk(data)} is ${data.usedPercent} % full (${free} available)` };
  }
  return { state: 'ok', detail: `the data disk ${describeDisk(data)} is ${data.usedPercent} % full (${free} available)` };
}

/** Why the board is degraded, one phrase each; empty when all is well. */
export function hardwareWarnings(readings: SensorReadings, thresholds: Thresholds = defaultThresholds): string[] {
  const warnings: string[] = [];
  const disks = [...readings.disks];
  if (readings.data && !disks.some((d) => d.mount === readings.data!.mount)) disks.unshift(readings.data);
  for (const disk of disks) {
    if (disk.mount === readings.data?.mount && disk.readOnly) warnings.push(`disk ${describeDisk(disk)} is read-only`);
    // A read-only disk other than the data disk (a boot partition) is full on purpose.
    else if (!disk.readOnly && disk.usedPercent > thresholds.degradedDiskPercent) warnings.push(`disk ${describeDisk(disk)} is ${disk.usedPercent} % full`);
  }
  if (readings.temperatureC !== undefined && readings.temperatureC >= thresholds.hotCelsius) warnings.push(`the SoC is at ${readings.temperatureC} °C`);
  const t = readings.throttling;
  if (t?.underVoltage) warnings.push('under-voltage: the power supply is too weak');
  if (t && (t.throttled || t.frequencyCapped || t.softTemperatureLimit)) warnings.push(`the CPU is throttled (vcgencmd get_throttled ${t.raw})`);
  for (const s of readings.smart ?? []) if (s.passed === false) warnings.push(`SMART health check of ${s.device} failed: ${s.detail}`);
  const m = readings.memory;
  if (m && m.totalBytes > 0 && (m.availableBytes / m.totalBytes) * 100 < thresholds.lowMemoryPercent) warnings.push(`memory is low (${formatBytes(m.availableBytes)} available)`);
  return warnings;
}
