package devices

// Derive is derive, for the tests.
var Derive = derive
