export * from './cleanup';
export * from './htpasswd';
export * from './net';
export * from './nginx';
export * from './process';
export * from './registry';
export * from './tls';
export * from './skopeo';
