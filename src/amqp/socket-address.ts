/**
 * An address as RabbitMQ shows it: an IPv4 client of the dual-stack listener appears as
 * `::ffff:127.0.0.1` on the socket, and as `127.0.0.1` in names, logs and listings.
 */
export function displayAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
