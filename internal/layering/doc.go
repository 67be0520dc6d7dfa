// Package layering holds the tests that keep the layout honest: imports
// run one way between the top folders, and README lists every package.
package layering
