/** Masking of PII for API answers and logs: enough left to recognise a lead, not to call it. */
export function maskPhone(e164: string): string {
  if (e164.length <= 6) return '*'.repeat(e164.length);
  return e164.slice(0, 3) + '*'.repeat(e164.length - 5) + e164.slice(-2);
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
