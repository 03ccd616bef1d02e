// services/config: the typed configuration (schema.ts) and where its values
// live (the settings table of the store).

import type { Store } from '../store/index.ts';
import { findSetting, parseSetting, resolveConfig, type Config, type SettingSource } from './schema.ts';

export * from './schema.ts';
export * from './advice.ts';

export function loadConfig(store: Store, overrides: Record<string, string> = {}): { config: Config; origin: Record<string, SettingSource> } {
  return resolveConfig({ stored: store.settings.all(), overrides });
}

/** Validates and stores a setting typed by a person; returns the stored value. */
export function storeSetting(store: Store, key: string, text: string): unknown {
  const value = parseSetting(key, text);
  store.settings.set(key, value);
  return value;
}

/** Forgets a stored value so the default applies again. */
export function resetSetting(store: Store, key: string): boolean {
  findSetting(key);
  return store.settings.delete(key);
}
