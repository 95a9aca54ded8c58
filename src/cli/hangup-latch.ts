/**
 * SIGHUP from the first instant of the process. `bin/mdp.js` loads this module before the rest
 * of mdp, which takes over a second on a busy machine: a `systemctl reload` of a service that
 * was just started (Type=simple, so systemd allows it at once) would otherwise find no handler
 * and kill `mdp serve` by SIGHUP's default action. A SIGHUP is held here until `mdp serve`
 * takes them (`takeHangups`) or another command lets SIGHUP do what it does by default
 * (`releaseHangups`), which ends the process, as it would have without this latch.
 */
let held = 0;
let listener: (() => void) | undefined;

const latch = (): void => {
  if (listener) listener();
  else held += 1;
};
process.on('SIGHUP', latch);

/**
 * Hands SIGHUP to `onHangup`; one held since the start is delivered now (several come to one
 * reload: each re-reads the same file). Returns the function that stops taking them.
 */
export function takeHangups(onHangup: () => void): () => void {
  listener = onHangup;
  if (held > 0) {
    held = 0;
    onHangup();
  }
  return () => {
    if (listener === onHangup) listener = undefined;
  };
}

/** SIGHUP ends the process again, as by default; one held since the start does so now. */
export function releaseHangups(): void {
  process.off('SIGHUP', latch);
  listener = undefined;
  if (held > 0) process.kill(process.pid, 'SIGHUP');
}
