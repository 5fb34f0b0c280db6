/**
 * Configuration errors, as the kernel (netlink) and iproute2 report them.
 *
 * The builder API mirrors `ip` commands, so a CNI compiler that asks for
 * something the kernel would refuse gets the same refusal: an errno name and
 * the message `ip` prints (`Error: Nexthop has invalid gateway.`). Compilers
 * catch `KernelError` and turn it into a diagnostic naming their input.
 */

export type Errno =
  | 'EEXIST'
  | 'EINVAL'
  | 'ENODEV'
  | 'ENETDOWN'
  | 'ENETUNREACH'
  | 'ESRCH'
  | 'EADDRNOTAVAIL'
  | 'EBUSY'
  | 'EOPNOTSUPP'
  | 'ENOENT';

export class KernelError extends Error {
  constructor(
    readonly errno: Errno,
    message: string,
  ) {
    super(message);
    this.name = 'KernelError';
  }
}

export function kernelError(errno: Errno, message: string): KernelError {
  return new KernelError(errno, message);
}
