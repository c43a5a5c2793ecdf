import { makeHistogramProvider } from '@willsoto/nestjs-prometheus';

// Every metric Chatbox exports is defined here. Labels are bounded: never user, session or request ids.
export const HTTP_REQUEST_DURATION = 'chatbox_http_request_duration_seconds';

export const chatboxMetricProviders = [
  makeHistogramProvider({
    name: HTTP_REQUEST_DURATION,
    help: 'HTTP request duration in seconds, by route template',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
];
