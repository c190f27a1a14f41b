// Package config turns a YAML file, command-line flags and WAYMARK_*
// environment variables into one typed, validated Config.
//
// Every leaf key of the YAML document is also a flag and an environment
// variable: storage.head.max_age is --storage.head.max_age and
// WAYMARK_STORAGE_HEAD_MAX_AGE. Precedence: flag, then environment, then
// file, then default. Unknown keys and bad values are refused with a message
// that names the key. Loading changes nothing outside the returned Config.
package config
