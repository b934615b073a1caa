// Posts the authorization response (response_mode=form_post, P2) as soon as the page
// loads; without JavaScript the page shows a Continue button.
document.forms[0].submit();
