// Adds a passkey on the security page (R20): values come from the data- attributes
// of #passkey-add.
(function () {
  var box = document.getElementById('passkey-add');
  var button = document.getElementById('passkey-add-button');
  var error = document.getElementById('passkey-error');
  function fail(text) { error.textContent = text; error.hidden = false; button.disabled = false; }
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
    fail(box.dataset.unsupported); button.disabled = true; return;
  }
  function buffer(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var b = atob(s), a = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) a[i] = b.charCodeAt(i);
    return a.buffer;
  }
  function b64url(buf) {
    var a = new Uint8Array(buf), s = '';
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function post(url, body) {
    if (box.dataset.locale) body.ui_locales = box.dataset.locale;
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': box.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error_description || j.error || String(r.status));
        return j;
      });
    });
  }
  function asJSON(c) {
    if (typeof c.toJSON === 'function') { try { return c.toJSON(); } catch (e) {} }
    var r = c.response;
    return {
      id: c.id, rawId: b64url(c.rawId), type: c.type,
      response: {
        attestationObject: b64url(r.attestationObject), clientDataJSON: b64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      },
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}
    };
  }
  button.addEventListener('click', function () {
    error.hidden = true; button.disabled = true;
    var label = document.getElementById('passkey_label').value;
    var password = document.getElementById('passkey_password').value;
    post(box.dataset.start, { current_password: password }).then(function (started) {
      var o = started.options.publicKey;
      o.challenge = buffer(o.challenge);
      o.user.id = buffer(o.user.id);
      (o.excludeCredentials || []).forEach(function (c) { c.id = buffer(c.id); });
      return navigator.credentials.create({ publicKey: o }).then(function (credential) {
        return post(box.dataset.finish, { ceremony: started.ceremony, credential: asJSON(credential), label: label });
      });
    }).then(function () { window.location.assign(box.dataset.done); },
      function (e) { fail(box.dataset.failed + ' ' + ((e && e.message) || '')); });
  });
})();
