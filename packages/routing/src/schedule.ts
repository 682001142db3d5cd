import type { ResolvedDestination } from '@leadrouter/config';

type Schedule = NonNullable<ResolvedDestination['schedule']>;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export interface LocalTime {
  /** 'mon' .. 'sun' */
  day: (typeof DAYS)[number];
  /** minutes since local midnight */
  minutes: number;
  /** YYYY-MM-DD and YYYY-MM-DDTHH in the timezone: cap period keys. */
  date: string;
  hour: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Each zone's wall clock for the last second asked: every offset (old local mean times too) is whole seconds, so one UTC second is one local second. */
const lastSecond = new Map<string, { second: number; time: LocalTime }>();

/**
 * Wall-clock time in `timeZone` (IANA name), correct across DST changes (Intl does the work).
 * Remembered per zone for the UTC second it was asked in: formatToParts was 1 % of a busy
 * worker's CPU (asked twice per lead, for the cap periods).
 */
export function localTime(now: Date, timeZone: string): LocalTime {
  const second = Math.floor(now.getTime() / 1000);
  const known = lastSecond.get(timeZone);
  if (known?.second === second) return known.time;
  const time = formatLocalTime(now, timeZone);
  lastSecond.set(timeZone, { second, time });
  return time;
}

function formatLocalTime(now: Date, timeZone: string): LocalTime {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, fmt);
  }
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(now)) parts[p.type] = p.value;
  const day = (parts.weekday ?? 'Sun').toLowerCase().slice(0, 3) as LocalTime['day'];
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return Object.freeze({ day, minutes: Number(parts.hour) * 60 + Number(parts.minute), date, hour: `${date}T${parts.hour}` });
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h as number) * 60 + (m as number);
}

/**
 * Whether a schedule is open at `now`. `from`/`to` default to the whole day; `to` is exclusive.
 * When `to` is before `from` the window runs overnight, and the part after midnight belongs to the
 * day it started on (fri 22:00-02:00 is open early Saturday, not early Friday).
 */
export function scheduleOpen(schedule: Schedule | undefined, now: Date): boolean {
  if (!schedule) return true;
  const local = localTime(now, schedule.timezone);
  const from = toMinutes(schedule.from ?? '00:00');
  const to = toMinutes(schedule.to ?? '24:00');
  const days = schedule.days;
  const dayOk = (day: string): boolean => !days || days.length === 0 || (days as readonly string[]).includes(day);
  if (from === to) return dayOk(local.day);
  if (from < to) return dayOk(local.day) && local.minutes >= from && local.minutes < to;
  if (local.minutes >= from) return dayOk(local.day);
  if (local.minutes < to) return dayOk(DAYS[(DAYS.indexOf(local.day) + 6) % 7] as string);
  return false;
}

/** Cap period keys for a destination at `now`, in its timezone (its schedule's, UTC without one). */
export function capPeriods(destination: Pick<ResolvedDestination, 'timezone'>, now: Date): { hourly: string; daily: string } {
  const local = localTime(now, destination.timezone);
  return { hourly: local.hour, daily: local.date };
}
