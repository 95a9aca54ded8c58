/**
 * Runs async sections one at a time, in the order they asked: a section starts only once the one
 * before it has settled (resolved or thrown).
 */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
