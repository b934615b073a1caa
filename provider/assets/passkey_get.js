// Signs in with a passkey (R20), for provider/templates/passkey_get.html: the
// endpoints, the CSRF token and whether to send the identifier come from the data-
// attributes of #passkey-error.
(function () {
  const box = document.getElementById('passkey-error');
  const b64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')), c => c.charCodeAt(0));
  const enc = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const fail = msg => { box.textContent = msg; box.hidden = false; };
  const post = async (url, body) => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
    const type = r.headers.get('content-type') || '';
    if (type.includes('application/json')) { const j = await r.json(); if (!r.ok) throw new Error(j.error_description || j.error); return j; }
    document.open(); document.write(await r.text()); document.close(); return null;
  };
  const button = document.getElementById('passkey-button');
  if (!button || !box) return;
  if (!window.PublicKeyCredential) { button.disabled = true; return; }
  const extraFields = () => {
    if (!box.dataset.identifier) return {};
    const field = document.getElementById('identifier');
    return { identifier: field ? field.value : '', flow: box.dataset.flow || '' };
  };
  button.addEventListener('click', async ev => {
    ev.preventDefault();
    try {
      const extra = extraFields();
      const start = await post(box.dataset.start, Object.assign({ csrf: box.dataset.csrf }, extra));
      if (!start) return;
      const pk = start.options.publicKey;
      pk.challenge = b64(pk.challenge);
      (pk.allowCredentials || []).forEach(c => { c.id = b64(c.id); });
      const cred = await navigator.credentials.get({ publicKey: pk });
      const r = cred.response;
      const credential = {
        id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: cred.getClientExtensionResults(),
        response: { authenticatorData: enc(r.authenticatorData), clientDataJSON: enc(r.clientDataJSON), signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null },
      };
      const remember = document.querySelector('input[name=remember]');
      const done = await post(box.dataset.finish, Object.assign({ csrf: box.dataset.csrf, ceremony: start.ceremony, credential, remember: !!(remember && remember.checked) }, extra));
      if (done && done.redirect) window.location.assign(done.redirect);
    } catch (e) { fail(e.message || String(e)); }
  });
})();
