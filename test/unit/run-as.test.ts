import { parsePasswdLine, resolveRunAs, unreachableFor } from '../../src/workers/run-as';

const ci = 'ci:x:1001:1002:CI runner:/home/ci:/bin/bash';
const lookup = (user: string) => (user === 'ci' || user === '1001' ? ci : undefined);

describe('--run-as', () => {
  it('reads a passwd line', () => {
    expect(parsePasswdLine(ci)).toEqual({ name: 'ci', uid: 1001, gid: 1002, home: '/home/ci' });
    expect(parsePasswdLine('garbage')).toBeUndefined();
  });

  it('resolves a user by name or uid when the worker is root', () => {
    expect(resolveRunAs('ci', { currentUid: 0, lookup })).toEqual({ user: 'ci', uid: 1001, gid: 1002, home: '/home/ci' });
    expect(resolveRunAs('1001', { currentUid: 0, lookup })).toMatchObject({ user: 'ci', uid: 1001 });
  });

  it('refuses when the worker is not root, saying so, unless the user is the worker\'s own', () => {
    expect(() => resolveRunAs('ci', { currentUid: 1000, lookup })).toThrow('--run-as ci: only root can run commands as another user, and this worker runs as uid 1000');
    expect(resolveRunAs('ci', { currentUid: 1001, lookup })).toMatchObject({ uid: 1001 });
  });

  it('names a user that does not exist', () => {
    expect(() => resolveRunAs('nosuchuser', { currentUid: 0, lookup })).toThrow('--run-as nosuchuser: no such user on this host');
  });

  it('looks users up in the system database for real', () => {
    expect(resolveRunAs('root', { currentUid: 0 })).toMatchObject({ user: 'root', uid: 0, gid: 0 });
    expect(() => resolveRunAs('dtf-no-such-user-x7', { currentUid: 0 })).toThrow(/no such user/);
  });

  it('finds the folder on the way to the work dir that the user may not enter', () => {
    const modes: Record<string, { mode: number; uid: number; gid: number }> = {
      '/': { mode: 0o755, uid: 0, gid: 0 },
      '/srv': { mode: 0o700, uid: 0, gid: 0 },
      '/srv/work': { mode: 0o755, uid: 0, gid: 0 },
      '/home': { mode: 0o755, uid: 0, gid: 0 },
      '/home/ci': { mode: 0o700, uid: 1001, gid: 1002 },
    };
    const stat = (p: string) => modes[p];
    expect(unreachableFor({ uid: 1001, gid: 1002 }, '/srv/work', stat)).toEqual({ dir: '/srv', mode: '0700' });
    expect(unreachableFor({ uid: 1001, gid: 1002 }, '/home/ci', stat)).toBeUndefined();
    expect(unreachableFor({ uid: 0, gid: 0 }, '/srv/work', stat)).toBeUndefined();
  });
});
