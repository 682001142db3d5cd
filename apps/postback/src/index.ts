export { startPostback, type PostbackHandle, type StartPostbackOptions } from './start.js';
