// Which role may call which endpoint: a copy of the rows of src/security/policy.cpp that the
// dashboard uses, so that it hides what the signed-in role may not do. Only a courtesy: the server
// enforces its own table (403). Keep the two in step; an endpoint missing here needs admin, as on
// the server (deny by default).
const RANK = { customer: 1, operator: 2, admin: 3 };

const RULES = {
  'GET /api/inventory/products': 'customer',
  'POST /api/inventory/products': 'operator',
  'POST /api/inventory/stock/add': 'operator',
  'POST /api/inventory/stock/reserve': 'operator',
  'POST /api/orders': 'customer',
  'GET /api/orders': 'customer',
  'GET /api/orders/:id': 'customer',
  'PUT /api/orders/:id/status': 'operator',
  'DELETE /api/orders/:id': 'operator',
  'GET /api/orders/:id/timeline': 'operator',
  'POST /api/payments/process': 'customer',
  'GET /api/payments': 'customer',
  'PUT /api/payments/:id/status': 'admin',
  'POST /api/notifications/email': 'admin',
  'POST /api/notifications/push': 'admin',
  'GET /api/stats': 'operator',
  'GET /api/messages': 'operator',
  'GET /ws': 'operator',
  'GET /api/dlq': 'operator',
  'POST /api/dlq/retry-all': 'operator',
  'POST /api/dlq/:messageId/retry': 'operator',
  'DELETE /api/dlq/:messageId': 'admin',
  'GET /api/faults': 'operator',
  'PUT /api/faults/:module': 'admin',
  'DELETE /api/faults/:module': 'admin',
};

// The signed-in role; '' (signed out) may nothing. With authentication off the server answers
// role "admin" for everyone.
let role = '';
export function setRole(r) { role = r || ''; }
export function currentRole() { return role; }

// can('PUT', '/api/payments/:id/status'): whether the current role may call that route pattern.
export function can(method, pattern) {
  const needed = RULES[`${method} ${pattern}`] || 'admin';
  return (RANK[role] || 0) >= RANK[needed];
}

// Elements marked data-needs="METHOD /pattern" are hidden unless the role may call it.
export function applyRole(root = document) {
  for (const node of root.querySelectorAll('[data-needs]')) {
    const [method, pattern] = node.dataset.needs.split(' ');
    node.hidden = !can(method, pattern);
  }
}
