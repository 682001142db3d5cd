export { matchRoute, routeMatches, type RoutableLead } from './match.js';
export { orderCandidates, STRATEGIES, type Strategy, type StrategyContext, type StrategyName } from './strategies.js';
export { scheduleOpen, capPeriods, localTime, type LocalTime } from './schedule.js';
export { staticSkipReason, type SkipReason } from './eligibility.js';
export { classifyReply, type ReplyClass, type Reply } from './classify-reply.js';
export { retryDelayMs, parseRetryAfter, RETRY_AFTER_MAX_MS } from './retry.js';
export { renderTemplate, buildRequest, templateValues, type DeliveryRequest } from './request.js';
export { estimateRevenue, expectedRevenue, learntPayout, NO_EVIDENCE, posteriorFor, sampleBeta, type LearnedCounts, type RevenueEstimate } from './learning.js';
export { seededRandom } from './random.js';
