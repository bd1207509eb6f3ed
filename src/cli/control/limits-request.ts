/** The JSON of set_vhost_limits / set_user_limits, validated as RabbitMQ does (integers only, known keys). */
import { USER_LIMIT_KEYS, VHOST_LIMIT_KEYS, type UserLimits, type VhostLimits } from '../../broker/access-model';

export class LimitsError extends Error {}

export function parseLimits(json: string, of: 'vhost' | 'user'): VhostLimits & UserLimits {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new LimitsError(`could not parse JSON document: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LimitsError('limits must be a JSON object, e.g. {"max-connections": 10}');
  const keys: readonly string[] = of === 'vhost' ? VHOST_LIMIT_KEYS : USER_LIMIT_KEYS;
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new LimitsError(`Unrecognised terms [${unknown.map((k) => `{<<"${k}">>}`).join(',')}] in ${of === 'vhost' ? 'limits' : 'user-limits'}`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new LimitsError(`${k} should be a number, actually was ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}
