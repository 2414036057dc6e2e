// A real GitLab client, @gitbeaker/rest, against the system hooks routes: what it sends (JSON bodies,
// `{}` on DELETE and test), how it pages (following `Link`), and how it reports our errors.
import { GitbeakerRequestError, Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';

async function requestError(promise: Promise<unknown>): Promise<{ status: number; description: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GitbeakerRequestError);
    const cause = (error as GitbeakerRequestError).cause as { description: string; response: Response };
    return { status: cause.response.status, description: cause.description };
  }
  throw new Error('expected the request to fail');
}

describe.each(backends)('@gitbeaker/rest SystemHooks on %s', (backend) => {
  let t: TestApp;
  let userToken: string;
  const client = (token: string) => new Gitlab({ host: t.url, token });

  beforeAll(async () => {
    t = await startTestApp(backend);
    userToken = (await createUser(t.app, 'alice')).token;
  });
  afterAll(async () => {
    await t.close();
  });

  // (gitbeaker 43's `SystemHooks.show` sends POST, i.e. it tests the hook; GitLab's GET is covered elsewhere.)
  it('creates, lists across pages, tests and removes system hooks', async () => {
    const api = client(t.adminToken);
    const created = [];
    for (let i = 0; i < 23; i += 1) {
      created.push(
        await api.SystemHooks.create(`https://example.com/gitbeaker/${i}`, { pushEvents: i % 2 === 0, token: 'secret', name: `hook ${i}` } as never),
      );
    }
    expect(created[0]).toMatchObject({ url: 'https://example.com/gitbeaker/0', push_events: true, repository_update_events: true, name: 'hook 0' });
    expect(created[0]).not.toHaveProperty('token');

    // 23 hooks are two pages of 20: gitbeaker follows `Link: rel="next"`.
    const all = await api.SystemHooks.all();
    expect(all.map((hook) => hook.id)).toEqual(created.map((hook) => hook.id));
    const expanded = (await api.SystemHooks.all({ showExpanded: true, perPage: 5, maxPages: 2 } as never)) as unknown as {
      data: unknown[];
      paginationInfo: Record<string, unknown>;
    };
    expect(expanded.data).toHaveLength(10);
    expect(expanded.paginationInfo).toMatchObject({ total: 23, perPage: 5, totalPages: 5 });

    expect(await api.SystemHooks.test(created[0]!.id)).toEqual({
      project_id: 1,
      owner_email: 'example@gitlabhq.com',
      owner_name: 'Someone',
      name: 'Ruby',
      path: 'ruby',
      event_name: 'project_create',
    });
    await api.SystemHooks.remove(created[0]!.id);
    expect((await api.SystemHooks.all()).map((hook) => hook.id)).not.toContain(created[0]!.id);
  });

  it("surfaces 401, 403, 404 and 422 as GitbeakerRequestError with GitLab's messages", async () => {
    expect(await requestError(client('not-a-token').SystemHooks.all())).toEqual({ status: 401, description: '401 Unauthorized' });
    expect(await requestError(client(userToken).SystemHooks.create('https://example.com/x'))).toEqual({ status: 403, description: '403 Forbidden' });
    const admin = client(t.adminToken);
    expect(await requestError(admin.SystemHooks.remove(999_999))).toEqual({ status: 404, description: '404 Not found' });
    expect(await requestError(admin.SystemHooks.test(999_999))).toEqual({ status: 404, description: '404 Not found' });
    const invalid = await requestError(admin.SystemHooks.create('ftp://example.com/x'));
    expect(invalid.status).toBe(422);
    expect(JSON.parse(invalid.description)).toEqual({ url: ['is blocked: Only allowed schemes are http, https'] });
  });
});
