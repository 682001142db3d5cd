import {
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/max';

export type PhoneCheck =
  | { ok: true; e164: string; national: string; mobile: boolean }
  | { ok: false; message: string };

/**
 * Normalises a phone number to E.164 with `geo` as the default region (contract §3).
 * "Valid for that region" is judged at the level of the calling code: +44 numbers are valid for GB
 * even when libphonenumber files them under GG or IM, and NANP numbers (+1) for US and CA alike;
 * a number of another calling code than the lead's geo is invalid.
 */
export function checkPhone(raw: string, geo: string): PhoneCheck {
  if (!isSupportedCountry(geo)) return { ok: false, message: `no phone numbering is known for geo ${geo}` };
  if (!/^[+0-9()./\s-]{3,40}$/.test(raw)) return { ok: false, message: 'must contain only digits, spaces, +, -, (, ), . or /' };
  const region = geo as CountryCode;
  const phone = parsePhoneNumberFromString(raw, region);
  if (!phone || !phone.isValid()) return { ok: false, message: `not a valid phone number for ${geo}` };
  if (phone.countryCallingCode !== getCountryCallingCode(region)) {
    return { ok: false, message: `not a valid phone number for ${geo} (it belongs to +${phone.countryCallingCode})` };
  }
  const type = phone.getType();
  return {
    ok: true,
    e164: phone.number,
    national: phone.nationalNumber,
    mobile: type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE',
  };
}
