import { describe, expect, it } from 'vitest';
import { Pass } from './pass.js';

const event = (version: string, deleted = false) => ({
  informer: 1,
  objectKey: 'acme/web',
  version,
  deleted,
});

describe('a pass', () => {
  it('tells its own writes and deletes from changes by others, by informer, key and version', () => {
    const pass = new Pass();
    pass.noteWrite(1, 'acme/web', '7');
    pass.noteDelete(1, 'acme/db');
    pass.hold(event('7'));
    pass.hold({ informer: 1, objectKey: 'acme/db', version: '9', deleted: true });
    expect(pass.changedByOthers()).toEqual({ again: false, delayMs: undefined });

    // The same key and version in another informer is another object.
    pass.hold({ ...event('7'), informer: 2 }, 500);
    pass.hold(event('8'), 200);
    expect(pass.changedByOthers()).toEqual({ again: true, delayMs: 200 });
  });

  it('holds a bounded number of events, then runs again without looking', () => {
    const pass = new Pass();
    for (let v = 1; v <= 1_001; v++) {
      pass.noteWrite(1, 'acme/web', String(v));
      pass.hold(event(String(v)));
    }
    expect(pass.changedByOthers()).toEqual({ again: true });
  });
});
