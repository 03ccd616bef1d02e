// Numbers and times as a person reads them.

import { text } from './text.ts';

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return text.unknown;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < text.bytes.units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const shown = unit === 0 ? String(value) : value >= 100 ? value.toFixed(0) : value.toFixed(1);
  return `${shown} ${text.bytes.units[unit]}`;
}

export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return text.unknown;
  const date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return text.system.duration(Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60);
}

export const megabyte = 1_000_000;
