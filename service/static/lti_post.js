// Posts the LTI return form (deep-linking response) back to the LMS as soon as the page loads.
document.getElementById("lti-return").submit();
