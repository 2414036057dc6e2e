// The test-hook event and payloads (a domain rule: what "send test" means): GitLab's exact
// system-hook sample, and one sample per subject event.
import type { SubjectType } from '../generated/prisma/enums';

/** GitLab's test payload for system hooks, byte for byte (the spec requires exactly this). */
export const SYSTEM_HOOK_SAMPLE = {
  project_id: 1,
  owner_email: 'example@gitlabhq.com',
  owner_name: 'Someone',
  name: 'Ruby',
  path: 'ruby',
  event_name: 'project_create',
};
export const SYSTEM_HOOK_SAMPLE_EVENT = 'project_create';

/** A plausible payload for a subject event, marked as a test so receivers can ignore it. */
export function subjectSample(event: string, subjectType: SubjectType, subject: string): Record<string, unknown> {
  const base = { event, subject_type: subjectType.toLowerCase(), subject, test: true };
  switch (event) {
    case 'build:complete':
      return { ...base, build: { id: 1, status: 'success', ref: 'refs/heads/main', commit: '0000000000000000000000000000000000000000' } };
    case 'image:push':
      return { ...base, image: { tag: 'latest', digest: `sha256:${'0'.repeat(64)}` } };
    case 'job:succeed':
    case 'job:fail':
      return { ...base, job: { id: subject, status: event === 'job:succeed' ? 'succeeded' : 'failed' } };
    default:
      return base;
  }
}
