#pragma once
// The one include point for Boost.Asio. Asio is compiled once (asio_impl.cpp) because
// BOOST_ASIO_SEPARATE_COMPILATION is defined project-wide; a TU that includes this still costs
// seconds, so only server/connection files and src/app include it.
#include <boost/asio.hpp>

namespace diskless {
namespace asio = boost::asio;
}
