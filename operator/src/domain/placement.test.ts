import { describe, expect, it } from 'vitest';
import { choosePlacement, type Candidate } from './placement.js';

const server = (name: string, over: Partial<Candidate> = {}): Candidate => ({
  name,
  state: 'Active',
  capacity: 10,
  placed: 0,
  labels: {},
  reachable: true,
  ...over,
});

describe('placement', () => {
  it('takes the least filled Active, reachable server with room, ties by name', () => {
    expect(choosePlacement([server('b', { placed: 2 }), server('a', { placed: 5 })], undefined)).toEqual({
      ok: true,
      server: 'b',
    });
    // Filled as a share of capacity: 5 of 100 is emptier than 2 of 10.
    expect(
      choosePlacement(
        [server('small', { placed: 2 }), server('big', { placed: 5, capacity: 100 })],
        undefined,
      ),
    ).toEqual({ ok: true, server: 'big' });
    expect(choosePlacement([server('b'), server('a')], undefined)).toEqual({ ok: true, server: 'a' });
  });

  it('skips cordoned, draining, unreachable and full servers, and says why none is left', () => {
    const all = [
      server('c', { state: 'Cordoned' }),
      server('d', { state: 'Draining' }),
      server('u', { reachable: false }),
      server('f', { placed: 10 }),
    ];
    expect(choosePlacement(all, undefined)).toEqual({
      ok: false,
      message:
        'no DatabaseServer takes new workspaces: c is Cordoned; d is Draining; u is not reachable; f is full (10 of 10 workspaces); waiting for room',
    });
    expect(choosePlacement([...all, server('z')], undefined)).toEqual({ ok: true, server: 'z' });
  });

  it('keeps an account to the servers its selector names', () => {
    const servers = [server('eu-1', { labels: { region: 'eu' }, placed: 3 }), server('us-1')];
    expect(choosePlacement(servers, { region: 'eu' })).toEqual({ ok: true, server: 'eu-1' });
    expect(choosePlacement(servers, { region: 'ap' })).toEqual({
      ok: false,
      message: 'no DatabaseServer carrying region=ap exists; waiting for one',
    });
  });
});
