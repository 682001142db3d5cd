export { ensureRedis } from './private-redis.js';
