export { notificationUrl, wantsNotification, DEFAULT_POSTBACK_ON, type NotifiedLead } from './url.js';
export { Notifier, type NotifierOptions } from './notifier.js';
