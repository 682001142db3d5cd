export { notificationUrl, wantsNotification, type NotifiedLead } from './url.js';
export { Notifier, type NotifierOptions } from './notifier.js';
