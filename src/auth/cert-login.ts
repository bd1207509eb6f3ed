/**
 * The user name a client certificate stands for, as rabbitmq_auth_mechanism_ssl derives it
 * (`ssl_cert_login_from`): the distinguished name in RFC 4514 order (`CN=guest,O=client,C=FR`,
 * the default), the common name (several joined with `,`), or the n-th subject alternative
 * name of a type (dns, email, uri, ip).
 */
import { X509Certificate } from 'node:crypto';

export type CertLoginFrom = 'distinguished_name' | 'common_name' | 'subject_alternative_name';
export type SanType = 'dns' | 'ip' | 'email' | 'uri' | 'other_name';

export interface CertLoginOptions {
  from: CertLoginFrom;
  sanType: SanType;
  sanIndex: number;
}

/** Node's multiline subject lists RDNs in certificate order, one `LABEL=value` per line (values RFC 2253-escaped). */
function subjectLines(cert: X509Certificate): string[] {
  return cert.subject.split('\n').filter((l) => l !== '');
}

const SAN_PREFIX: Record<SanType, string> = { dns: 'DNS:', ip: 'IP Address:', email: 'email:', uri: 'URI:', other_name: 'othername:' };

/** The name for the certificate in DER, or undefined when it has none of the kind asked for. */
export function certificateUsername(der: Buffer, options: CertLoginOptions): string | undefined {
  const cert = new X509Certificate(der);
  if (options.from === 'distinguished_name') {
    const lines = subjectLines(cert);
    // RFC 4514 lists the most specific RDN first: the reverse of the encoding order.
    return lines.length === 0 ? undefined : lines.reverse().map((l) => l.replace(/^emailAddress=/, 'EMAILADDRESS=')).join(',');
  }
  if (options.from === 'common_name') {
    const names = subjectLines(cert)
      .filter((l) => l.startsWith('CN='))
      .map((l) => l.slice(3));
    return names.length === 0 ? undefined : names.join(',');
  }
  const prefix = SAN_PREFIX[options.sanType];
  const sans = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith(prefix))
    .map((s) => s.slice(prefix.length));
  return sans[options.sanIndex];
}
