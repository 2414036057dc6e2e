// How hooks and deliveries read on screen, in one place.
export const SUBJECT_EVENTS: Record<string, string[]> = {
  BUILD_REPO: ['build:complete'],
  IMAGE_REPO: ['image:push'],
  JOB: ['job:succeed', 'job:fail'],
};
export const SYSTEM_EVENTS = ['push', 'tag_push', 'merge_request', 'repository_update'];
export const SUBJECT_TYPES = ['BUILD_REPO', 'IMAGE_REPO', 'JOB'];
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED'];

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function hookStatus(hook: { isActive: boolean; alertStatus: string; disabledUntil: string | null }): string {
  if (!hook.isActive || hook.alertStatus === 'disabled') return 'disabled';
  if (hook.alertStatus === 'temporarily_disabled') return `temporarily disabled until ${dateTime(hook.disabledUntil)}`;
  return 'active';
}

export function subjectLabel(hook: { kind: string; subjectType: string | null; subject: string | null }): string {
  if (hook.kind === 'SYSTEM') return 'system';
  return `${hook.subjectType ?? ''} ${hook.subject ?? ''}`.trim();
}

/** Pretty JSON when the text is JSON, the text itself otherwise. */
export function prettyBody(text: string | null | undefined): string {
  if (!text) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A `datetime-local` input's value (the browser's time zone) as an ISO instant; null when empty. */
export function instantFromLocal(value: string): string | null {
  if (!value) return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}
